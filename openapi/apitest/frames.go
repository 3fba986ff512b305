package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// frameSchemas are the frame schemas by direction and type.
type frameSchemas struct {
	client, server map[string]*openapi3.Schema
}

var loadFrames = sync.OnceValues(func() (*frameSchemas, error) {
	doc, err := LoadFrames()
	if err != nil {
		return nil, err
	}
	client, err := byType(doc, "ClientFrame")
	if err != nil {
		return nil, err
	}
	server, err := byType(doc, "ServerFrame")
	if err != nil {
		return nil, err
	}
	return &frameSchemas{client: client, server: server}, nil
})

// byType maps each type of the union schema name to its frame schema,
// following the union's discriminator.
func byType(doc *openapi3.T, name string) (map[string]*openapi3.Schema, error) {
	u := doc.Components.Schemas[name]
	if u == nil || u.Value == nil || u.Value.Discriminator == nil {
		return nil, fmt.Errorf("apitest: docs/frames.json: no %s with a discriminator", name)
	}
	out := map[string]*openapi3.Schema{}
	for typ, m := range u.Value.Discriminator.Mapping {
		s := doc.Components.Schemas[strings.TrimPrefix(m.Ref, "#/components/schemas/")]
		if s == nil || s.Value == nil {
			return nil, fmt.Errorf("apitest: docs/frames.json: %s maps %q to missing %s", name, typ, m.Ref)
		}
		out[typ] = s.Value
	}
	return out, nil
}

// ValidateServerFrame reports how data, one frame the server sent, differs
// from docs/frames.json.
func ValidateServerFrame(data []byte) error {
	f, err := loadFrames()
	if err != nil {
		return err
	}
	return validateFrame(f.server, data)
}

// ValidateClientFrame reports how data, one frame a client sends, differs
// from docs/frames.json.
func ValidateClientFrame(data []byte) error {
	f, err := loadFrames()
	if err != nil {
		return err
	}
	return validateFrame(f.client, data)
}

// CheckServerFrame fails the test (with Errorf, so reader goroutines may
// call it) unless data is a server frame as docs/frames.json describes.
func CheckServerFrame(t testing.TB, data []byte) {
	t.Helper()
	if err := ValidateServerFrame(data); err != nil {
		t.Errorf("server frame %.300s: not as docs/frames.json describes: %v", data, err)
	}
}

// CheckClientFrame fails the test (with Errorf) unless data is a client
// frame as docs/frames.json describes.
func CheckClientFrame(t testing.TB, data []byte) {
	t.Helper()
	if err := ValidateClientFrame(data); err != nil {
		t.Errorf("client frame %.300s: not as docs/frames.json describes: %v", data, err)
	}
}

func validateFrame(schemas map[string]*openapi3.Schema, data []byte) error {
	v, err := decodeJSON(data)
	if err != nil {
		return err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("a frame is a JSON object, not %T", v)
	}
	typ, _ := obj["type"].(string)
	s := schemas[typ]
	if s == nil {
		return fmt.Errorf("no frame of type %q", obj["type"])
	}
	if err := s.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("%s frame: %w", typ, err)
	}
	return nil
}

// decodeJSON decodes one JSON value.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}
