package client_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// shape is the JSON shape of a value, as a Go type decodes it or as a
// schema of the contract describes it: what drift tests compare.
type shape struct {
	// kind is string, integer, number, boolean, array or object; "" when
	// anything goes.
	kind string
	// nullable tells that null is a value of its own: a pointer in Go, a
	// null alternative in a schema.
	nullable bool
	elem     *shape            // of an array
	fields   map[string]*shape // of an object, by JSON name
}

// goShape returns the shape that encoding/json decodes into t.
func goShape(t reflect.Type) *shape {
	s := &shape{}
	if t.Kind() == reflect.Pointer {
		s = goShape(t.Elem())
		s.nullable = true
		return s
	}
	switch t.Kind() {
	case reflect.String:
		s.kind = "string"
	case reflect.Bool:
		s.kind = "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s.kind = "integer"
	case reflect.Float32, reflect.Float64:
		s.kind = "number"
	case reflect.Slice, reflect.Array:
		s.kind, s.elem = "array", goShape(t.Elem())
	case reflect.Struct:
		s.kind, s.fields = "object", map[string]*shape{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			s.fields[name] = goShape(f.Type)
		}
	}
	return s
}

// schemaDoc is a JSON document of the contract (docs/frames.json or
// openapi/openapi.json) whose component schemas refer to each other.
type schemaDoc struct {
	name    string
	schemas map[string]map[string]any
}

// loadSchemas reads the component schemas of a contract document.
func loadSchemas(t testing.TB, name string, data []byte) *schemaDoc {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &schemaDoc{name: name, schemas: doc.Components.Schemas}
}

// schema returns the component schema called name.
func (d *schemaDoc) schema(t testing.TB, name string) map[string]any {
	t.Helper()
	s, ok := d.schemas[name]
	if !ok {
		t.Fatalf("%s has no schema %s", d.name, name)
	}
	return s
}

// shape returns the shape that schema s describes, following $ref.
func (d *schemaDoc) shape(t testing.TB, s map[string]any) *shape {
	t.Helper()
	if ref, ok := s["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/components/schemas/")
		if !ok {
			t.Fatalf("%s: unexpected $ref %s", d.name, ref)
		}
		return d.shape(t, d.schema(t, name))
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		alts, ok := s[key].([]any)
		if !ok {
			continue
		}
		var out *shape
		nullable := false
		for _, a := range alts {
			if as := a.(map[string]any); as["type"] == "null" {
				nullable = true
			} else if out == nil {
				out = d.shape(t, as)
			} else {
				t.Fatalf("%s: %s of several non-null schemas is not a field a client decodes", d.name, key)
			}
		}
		out.nullable = out.nullable || nullable
		return out
	}
	out := &shape{}
	switch ty := s["type"].(type) {
	case string:
		out.kind = ty
	case []any:
		for _, k := range ty {
			if k == "null" {
				out.nullable = true
			} else {
				out.kind = k.(string)
			}
		}
	}
	if _, ok := s["const"].(string); ok && out.kind == "" {
		out.kind = "string"
	}
	if enum, ok := s["enum"].([]any); ok && out.kind == "" && len(enum) > 0 {
		if _, isString := enum[0].(string); isString {
			out.kind = "string"
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		out.kind, out.elem = "array", d.shape(t, items)
	}
	if props, ok := s["properties"].(map[string]any); ok {
		out.kind, out.fields = "object", map[string]*shape{}
		for name, p := range props {
			out.fields[name] = d.shape(t, p.(map[string]any))
		}
	}
	return out
}

// compareShapes returns how the client's shape differs from the
// contract's, one line per difference, each naming its path.
func compareShapes(path string, client, contract *shape) []string {
	var diffs []string
	if contract.kind != "" && client.kind != contract.kind {
		return []string{fmt.Sprintf("%s: the contract has a %s, the client decodes a %s", path, contract.kind, orAny(client.kind))}
	}
	if contract.nullable && !client.nullable && client.kind != "array" {
		diffs = append(diffs, fmt.Sprintf("%s: the contract allows null, which the client cannot tell from %s's zero value", path, client.kind))
	}
	if contract.elem != nil && client.elem != nil {
		diffs = append(diffs, compareShapes(path+"[]", client.elem, contract.elem)...)
	}
	for _, name := range sortedKeys(contract.fields) {
		c, ok := client.fields[name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s.%s: in the contract, missing in the client", path, name))
			continue
		}
		diffs = append(diffs, compareShapes(path+"."+name, c, contract.fields[name])...)
	}
	if contract.fields != nil {
		for _, name := range sortedKeys(client.fields) {
			if _, ok := contract.fields[name]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: in the client, not in the contract", path, name))
			}
		}
	}
	return diffs
}

// orAny names a kind, "" as anything.
func orAny(kind string) string {
	if kind == "" {
		return "value of any kind"
	}
	return kind
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]*shape) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
