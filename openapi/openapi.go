// Package openapi holds the machine-readable description of the service's REST
// API: openapi.json, an OpenAPI 3.1 document that is the source of truth for
// every route, body, status and error code. It imports nothing of ours, so
// the server and the tests can both embed it.
package openapi

import _ "embed"

// Document is the OpenAPI 3.1 document of the REST API, as served at
// GET /api/v1/openapi.json.
//
//go:embed openapi.json
var Document []byte
