package chat

import (
	"bytes"
	"strings"
	"testing"
)

func TestPeekRefRoom(t *testing.T) {
	long := strings.Repeat("x", 70)
	tests := []struct {
		in        string
		ref, room string
	}{
		{`{"type":"send","room":"General","text":"hi","ref":"r1"}`, "r1", "general"},
		{` { "ref" : "a b" , "room" : "x" } `, "a b", "x"},
		{`{"REF":"r","Room":"x"}`, "r", "x"},
		{`{"ref":"a","ref":"b"}`, "b", ""},
		{`{"ref":"a","ref":null}`, "a", ""},
		{`{"ref":"a","ref":5}`, "", ""},
		{`{"ref":"a","ref":""}`, "", ""},
		{`{"ref":"` + long + `"}`, "", ""},
		{`{"room":"a b"}`, "", ""},
		{`{"ref":"r","text":"a \"quoted\" {[ text","room":"x"}`, "r", "x"},
		{`{"x":{"ref":"inner","y":["}",{"room":"z"}]},"ref":"outer"}`, "outer", ""},
		{`{"since":12,"ok":true,"no":null,"ref":"r"}`, "r", ""},
		// Escapes are not read: the frame's value is not known.
		{`{"ref":"a\u0062"}`, "", ""},
		{`{"r\u0065f":"a","room":"x"}`, "", ""},
		{`{"text":"a\nb","ref":"r"}`, "r", ""},
		// Not one object: nothing.
		{`{"ref":"r","room":"x"`, "", ""},
		{`{"ref":"r"} {}`, "", ""},
		{`["ref","r"]`, "", ""},
		{`{"ref":"r",}`, "", ""},
		{`{"ref" "r"}`, "", ""},
		{`{"ref":"r","text":"cut`, "", ""},
		{``, "", ""},
		{`{}`, "", ""},
	}
	for _, tc := range tests {
		ref, room := PeekRefRoom([]byte(tc.in))
		if ref != tc.ref || room != tc.room {
			t.Errorf("PeekRefRoom(%s) = %q, %q; want %q, %q", tc.in, ref, room, tc.ref, tc.room)
		}
	}
}

// FuzzPeekRefRoom checks that PeekRefRoom never panics, returns only a
// valid ref and a normalized room, and agrees with DecodeFrame on every
// frame DecodeFrame accepts, except that it may give up (return nothing)
// on input holding an escape.
func FuzzPeekRefRoom(f *testing.F) {
	for _, s := range []string{
		`{"type":"send","room":"General","text":"hi","ref":"r1"}`,
		`{"type":"leave","room":"a","ref":"x","ref":null}`,
		`{"type":"auth","token":"t","room":"A","REF":"q"}`,
		`{"type":"join","room":"a","since":3,"x":{"ref":"in"}}`,
		`{"type":"send","room":"a","text":"a\"b","ref":"r\u0031"}`,
		`{"ref":"r","text":"cut`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ref, room := PeekRefRoom(data)
		if ref != "" && !ValidRef(ref) {
			t.Fatalf("PeekRefRoom(%q): invalid ref %q", data, ref)
		}
		if room != "" {
			if r, err := NormalizeRoom(room); err != nil || r != room {
				t.Fatalf("PeekRefRoom(%q): room %q not normalized", data, room)
			}
		}
		fr, err := DecodeFrame(data)
		if err != nil {
			return
		}
		// Where the input holds an escape, either may be given up.
		esc := bytes.IndexByte(data, '\\') >= 0
		if ref != fr.Ref && !(esc && ref == "") || room != fr.Room && !(esc && room == "") {
			t.Fatalf("PeekRefRoom(%q) = %q, %q; DecodeFrame has %q, %q", data, ref, room, fr.Ref, fr.Room)
		}
	})
}
