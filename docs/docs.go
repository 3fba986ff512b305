// Package docs holds the service's documentation; frames.json, the schema
// of every WebSocket frame, is embedded so tests can validate frames
// against it.
package docs

import _ "embed"

// Frames is the schema of the WebSocket frames: an OpenAPI 3.1 document
// whose components hold a JSON Schema 2020-12 schema per frame, with
// ClientFrame and ServerFrame choosing one by the frame's type.
//
//go:embed frames.json
var Frames []byte
