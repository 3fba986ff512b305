package chat

import (
	"encoding/json"
	"testing"
)

func TestDecodeReadFrame(t *testing.T) {
	tests := []struct {
		in   string
		code string
		room string
		ref  string
		seq  int64
	}{
		{`{"type":"read","room":"General","seq":7,"ref":"r1"}`, "", "general", "r1", 7},
		{`{"type":"read","room":"a","seq":0}`, "", "a", "", 0},
		{`{"type":"read","room":"a","seq":-1,"ref":"x"}`, CodeBadRequest, "a", "x", 0},
		{`{"type":"read","room":"a"}`, CodeBadRequest, "a", "", 0},
		{`{"type":"read","room":"a","seq":null}`, CodeBadRequest, "a", "", 0},
		{`{"type":"read","room":"a","seq":1.5,"ref":"x"}`, CodeBadRequest, "a", "x", 0},
		{`{"type":"read","room":"a","seq":"3"}`, CodeBadRequest, "a", "", 0},
		{`{"type":"read","seq":3,"ref":"x"}`, CodeBadRequest, "", "x", 0},
		{`{"type":"read","room":"a b","seq":3}`, CodeInvalidRoom, "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := DecodeFrame([]byte(tc.in))
			if got := ErrorCode(err); got != tc.code {
				t.Fatalf("code %q, want %q (err %v)", got, tc.code, err)
			}
			if f.Room != tc.room || f.Ref != tc.ref {
				t.Fatalf("frame %+v, want room %q ref %q", f, tc.room, tc.ref)
			}
			if tc.code == "" && (f.Type != TypeRead || f.Seq == nil || *f.Seq != tc.seq) {
				t.Fatalf("frame %+v, want a read of seq %d", f, tc.seq)
			}
		})
	}
}

func TestReadFramesJSON(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{ReadFrame{Type: TypeRead, Room: "a", Seq: 3}, `{"type":"read","room":"a","seq":3}`},
		{ReadFrame{Type: TypeRead, Room: "a", Seq: 3, Ref: "r"}, `{"type":"read","room":"a","seq":3,"ref":"r"}`},
		{ReceiptFrame{Type: TypeReceipt, Room: "a", User: "bob", UserID: "u1", Seq: 0}, `{"type":"receipt","room":"a","user":"bob","user_id":"u1","seq":0}`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("%T encodes as %s (%v), want %s", tc.v, b, err, tc.want)
		}
	}
}
