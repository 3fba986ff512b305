package client

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/chatsvc/chat/docs"
)

// TestOutFrameMatchesTheContract checks that outFrame, the one type the
// socket writes every frame with, has exactly the fields of the client
// frames of docs/frames.json: a field the contract adds to a client frame
// fails here until the client can send it.
func TestOutFrameMatchesTheContract(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties    map[string]any `json:"properties"`
				Discriminator struct {
					Mapping map[string]string `json:"mapping"`
				} `json:"discriminator"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(docs.Frames, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	contract := map[string]bool{}
	for typ, ref := range schemas["ClientFrame"].Discriminator.Mapping {
		s, ok := schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
		if !ok {
			t.Fatalf("ClientFrame maps %s to %s, which is not there", typ, ref)
		}
		for name := range s.Properties {
			contract[name] = true
		}
	}
	if len(contract) == 0 {
		t.Fatal("docs/frames.json: no client frame fields")
	}
	client := map[string]bool{}
	ft := reflect.TypeFor[outFrame]()
	for i := range ft.NumField() {
		name, _, _ := strings.Cut(ft.Field(i).Tag.Get("json"), ",")
		client[name] = true
	}
	if got, want := slices.Sorted(maps.Keys(client)), slices.Sorted(maps.Keys(contract)); !slices.Equal(got, want) {
		t.Errorf("the client writes the fields %q, the contract's client frames have %q", got, want)
	}
}
