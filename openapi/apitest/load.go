// Package apitest holds the test helpers that keep the service honest to its
// published descriptions: every HTTP exchange a test makes can be checked
// against the OpenAPI document (openapi.Document), and every WebSocket frame
// against the frame schema (docs.Frames). A mismatch fails the test.
package apitest

import (
	"context"
	"fmt"
	"sync"

	"github.com/chatsvc/chat/docs"
	"github.com/chatsvc/chat/openapi"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// PendingFields lists, per component schema of the OpenAPI document, the
// required fields of the contract that the server does not send yet. The
// validator treats them as optional (a value that is sent is still checked).
// Each entry goes when its field lands; TestPendingFieldsNotServed in
// internal/httpapi fails while a listed field is already served.
var PendingFields = map[string][]string{}

// spec is the loaded OpenAPI document and its router.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

// loadSpec loads and validates the OpenAPI document once per process.
var loadSpec = sync.OnceValues(func() (*spec, error) {
	doc, err := LoadOpenAPI()
	if err != nil {
		return nil, err
	}
	for name, fields := range PendingFields {
		s := doc.Components.Schemas[name]
		if s == nil || s.Value == nil {
			return nil, fmt.Errorf("apitest: pending fields of unknown schema %q", name)
		}
		s.Value.Required = without(s.Value.Required, fields)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: route the OpenAPI document: %w", err)
	}
	return &spec{doc: doc, router: r}, nil
})

// LoadOpenAPI loads openapi.Document and validates it as an OpenAPI document.
func LoadOpenAPI() (*openapi3.T, error) {
	return load("openapi/openapi.json", openapi.Document)
}

// LoadFrames loads docs.Frames and validates it as an OpenAPI document.
func LoadFrames() (*openapi3.T, error) {
	return load("docs/frames.json", docs.Frames)
}

func load(name string, data []byte) (*openapi3.T, error) {
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("apitest: load %s: %w", name, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apitest: validate %s: %w", name, err)
	}
	return doc, nil
}

// without returns list minus the names in drop.
func without(list, drop []string) []string {
	var out []string
	for _, s := range list {
		keep := true
		for _, d := range drop {
			keep = keep && s != d
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}
