package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		in   string
		code string
		typ  string
		ref  string
		room string
	}{
		{`{"type":"join","room":"General","since":3}`, "", TypeJoin, "", "general"},
		{`{"type":"send","room":"a","text":"hi","ref":"r1"}`, "", TypeSend, "r1", "a"},
		{`{"type":"leave","room":"a"}`, "", TypeLeave, "", "a"},
		{`{"type":"typing","room":"a"}`, "", TypeTyping, "", "a"},
		{`{"type":"auth","token":"t"}`, "", TypeAuth, "", ""},
		{`nope`, CodeBadRequest, "", "", ""},
		{`{"type":"join","room":"a"} {}`, CodeBadRequest, "", "", ""},
		{`{"type":"join","room":"a"}]`, CodeBadRequest, "", "", ""},
		{`{"type":"join","room":"a"}} `, CodeBadRequest, "", "", ""},
		{"{\"type\":\"join\",\"room\":\"a\"}\r\n", "", TypeJoin, "", "a"},
		{`{"type":"join","room":"a b","ref":"x"}`, CodeInvalidRoom, TypeJoin, "x", ""},
		{`{"type":"join","room":"a","since":1.5,"ref":"x"}`, CodeBadRequest, "", "x", "a"},
		{`{"type":"join","room":"a","since":-2}`, CodeBadRequest, TypeJoin, "", "a"},
		{`{"type":"send","room":"a","text":"hi"}`, CodeBadRequest, TypeSend, "", "a"},
		{`{"type":"send","room":"a","ref":"r"}`, CodeBadRequest, TypeSend, "r", "a"},
		{`{"type":"auth"}`, CodeBadRequest, TypeAuth, "", ""},
		{`{"type":"wave","ref":"r"}`, CodeBadRequest, "wave", "r", ""},
		{`{"type":"wave","room":"A"}`, CodeBadRequest, "wave", "", "a"},
		{`{"room":"a b","ref":"r"}`, CodeBadRequest, "", "r", ""},
		{`{"type":"auth","room":"A"}`, CodeBadRequest, TypeAuth, "", "a"},
		{`{"type":"auth","token":"t","room":"a.b"}`, "", TypeAuth, "", ""},
		{`{"type":"join","room":"a","ref":"` + strings.Repeat("x", 65) + `"}`, CodeBadRequest, "", "", "a"},
		{`{"type":"join","room":"A","ref":"tab\there"}`, CodeBadRequest, "", "", "a"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := DecodeFrame([]byte(tc.in))
			if got := ErrorCode(err); got != tc.code {
				t.Fatalf("code %q, want %q (err %v)", got, tc.code, err)
			}
			if f.Ref != tc.ref || (tc.code == "" && f.Type != tc.typ) || f.Room != tc.room {
				t.Fatalf("frame %+v, want type %q ref %q room %q", f, tc.typ, tc.ref, tc.room)
			}
		})
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","room":"general","since":0}`,
		`{"type":"send","room":"a","text":"hi","ref":"r"}`,
		`{"type":"auth","token":"x"}`, `[]`, `{}`, `null`, `{"type":1}`,
		`{"type":"join","room":"a","since":1.5,"ref":"x"}`,
		`{"ref":"x","room":"a","ref":1,"since":"1"}`,
		`{"type":"join","room":"a","since":1.5} {}`,
		`{"type":"join","room":"a","since":1.5}]`,
		`{"type":"join","room":"a"}]`,
		`{"type":"send","room":"a","ref":"x","text":"cut`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data)
		if err != nil {
			if c := ErrorCode(err); c != CodeBadRequest && c != CodeInvalidRoom {
				t.Fatalf("unexpected code %q", c)
			}
		}
		if fr.Ref != "" && !ValidRef(fr.Ref) {
			t.Fatalf("invalid ref %q echoed", fr.Ref)
		}
		if fr.Room != "" {
			if r, err := NormalizeRoom(fr.Room); err != nil || r != fr.Room {
				t.Fatalf("room %q not normalized", fr.Room)
			}
		}
		if err == nil && fr.Type == TypeSend && (fr.Text == nil || fr.Ref == "") {
			t.Fatal("send accepted without text or ref")
		}
		if err == nil && (!json.Valid(data) || bytes.TrimLeft(data, " \t\r\n")[0] != '{') {
			t.Fatalf("accepted %q, which is not one JSON object", data)
		}
		// A frame that does not decode echoes exactly the ref and room that
		// reading the whole input once more as loose JSON finds.
		var ce *Error
		if errors.As(err, &ce) && ce.Message == "frame is not a valid JSON object of the protocol" {
			var e struct {
				Ref  any `json:"ref"`
				Room any `json:"room"`
			}
			var want ClientFrame
			_ = json.Unmarshal(data, &e) // fills e also when only a field type is wrong
			if s, ok := e.Ref.(string); ok && ValidRef(s) {
				want.Ref = s
			}
			if s, ok := e.Room.(string); ok {
				if r, err := NormalizeRoom(s); err == nil {
					want.Room = r
				}
			}
			if fr != want {
				t.Fatalf("malformed frame %q echoed %+v, want %+v", data, fr, want)
			}
		}
	})
}

func BenchmarkDecodeFrame(b *testing.B) {
	data := []byte(`{"type":"send","room":"general","text":"hello there, how are you?","ref":"0b5c8e4e-9a51-4f4b-8d7e-3f1b2a6c9d10"}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeFrame(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFrameMalformed measures the error path: a frame cut
// short, one with data after it, and one of valid JSON with a field of the
// wrong type, whose ref and room are still echoed.
func BenchmarkDecodeFrameMalformed(b *testing.B) {
	send := `{"type":"send","room":"general","text":"` + strings.Repeat("hello there, how are you? ", 40) + `","ref":"0b5c8e4e-9a51-4f4b-8d7e-3f1b2a6c9d10"}`
	for _, bc := range []struct{ name, data string }{
		{"truncated", send[:len(send)-10]},
		{"trailing", send + ` {}`},
		{"wrong_type", `{"type":"join","room":"general","since":1.5,"ref":"0b5c8e4e-9a51-4f4b-8d7e-3f1b2a6c9d10"}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := []byte(bc.data)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeFrame(data); err == nil {
					b.Fatal("malformed frame accepted")
				}
			}
		})
	}
}

func TestValidateText(t *testing.T) {
	tests := []struct {
		text string
		code string
	}{
		{"hello", ""},
		{"a\tb\nc\r", ""},
		{"   ", CodeTextEmpty},
		{"\u00a0\u2003", CodeTextEmpty},
		{"", CodeTextEmpty},
		{"bell\a", CodeBadRequest},
		{"\xff", CodeBadRequest},
		{strings.Repeat("é", 10), ""},
		{strings.Repeat("é", 11), CodeTextTooLong},
	}
	for _, tc := range tests {
		if got := ErrorCode(ValidateText(tc.text, 10)); got != tc.code {
			t.Errorf("ValidateText(%q) = %q, want %q", tc.text, got, tc.code)
		}
	}
}

func TestNormalizeNames(t *testing.T) {
	for in, want := range map[string]string{"Alice": "alice", "bob.smith-1_x": "bob.smith-1_x", "ab": "", "a b c": "", strings.Repeat("a", 33): "", "ÅSA": ""} {
		got, err := NormalizeUsername(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("NormalizeUsername(%q) = %q, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{"General": "general", "a-b_c": "a-b_c", "": "", "a.b": "", strings.Repeat("r", 64): strings.Repeat("r", 64), strings.Repeat("r", 65): ""} {
		got, err := NormalizeRoom(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("NormalizeRoom(%q) = %q, %v", in, got, err)
		}
	}
}
