package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chatsvc/chat/docs"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// frameSchemas are the compiled frame schemas by direction and type.
type frameSchemas struct {
	client, server map[string]*jsonschema.Schema
}

// framesURL names docs/frames.json for the schema compiler.
const framesURL = "https://chat.invalid/docs/frames.json"

// loadFrames checks docs/frames.json as an OpenAPI document once, and
// compiles each frame's schema once: compiling per frame would cost
// milliseconds a frame.
var loadFrames = sync.OnceValues(func() (*frameSchemas, error) {
	doc, err := LoadFrames()
	if err != nil {
		return nil, err
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.Frames))
	if err != nil {
		return nil, fmt.Errorf("apitest: docs/frames.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(framesURL, raw); err != nil {
		return nil, fmt.Errorf("apitest: docs/frames.json: %w", err)
	}
	client, err := byType(doc, c, "ClientFrame")
	if err != nil {
		return nil, err
	}
	server, err := byType(doc, c, "ServerFrame")
	if err != nil {
		return nil, err
	}
	return &frameSchemas{client: client, server: server}, nil
})

// byType maps each type of the union schema name to its compiled frame
// schema, following the union's discriminator.
func byType(doc *openapi3.T, c *jsonschema.Compiler, name string) (map[string]*jsonschema.Schema, error) {
	u := doc.Components.Schemas[name]
	if u == nil || u.Value == nil || u.Value.Discriminator == nil {
		return nil, fmt.Errorf("apitest: docs/frames.json: no %s with a discriminator", name)
	}
	out := map[string]*jsonschema.Schema{}
	for typ, m := range u.Value.Discriminator.Mapping {
		if !strings.HasPrefix(m.Ref, "#/components/schemas/") {
			return nil, fmt.Errorf("apitest: docs/frames.json: %s maps %q to %s", name, typ, m.Ref)
		}
		s, err := c.Compile(framesURL + m.Ref)
		if err != nil {
			return nil, fmt.Errorf("apitest: docs/frames.json: %s: %w", m.Ref, err)
		}
		out[typ] = s
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

func validateFrame(schemas map[string]*jsonschema.Schema, data []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not one JSON value: %w", err)
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
	if err := s.Validate(v); err != nil {
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
