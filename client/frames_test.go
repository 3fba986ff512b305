package client_test

import (
	"reflect"
	"testing"

	"github.com/chatsvc/chat/client"
)

func TestDecodeFrame(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	tests := []struct {
		in   string
		want client.Event
		ref  string
	}{
		{`{"type":"welcome","user":{"id":"u1","username":"alice"},"session_id":"s","heartbeat_ms":25000}`,
			&client.Welcome{User: client.MemberUser{ID: "u1", Username: "alice"}, SessionID: "s", HeartbeatMS: 25000}, ""},
		{`{"type":"joined","room":"r","last_seq":4,"replayed":2,"truncated":true,"members":["a"],"ref":"x"}`,
			&client.Joined{Room: "r", LastSeq: 4, Replayed: 2, Truncated: true, Members: []string{"a"}}, "x"},
		{`{"type":"message","room":"r","seq":3,"id":"m","from":"a","from_id":"u","text":"","ts":"t","edited_at":"e","deleted":true}`,
			&client.Message{Room: "r", Seq: 3, ID: "m", From: "a", FromID: "u", TS: "t", EditedAt: str("e"), Deleted: true}, ""},
		{`{"type":"edit","room":"r","seq":5,"target":3,"text":"new","from":"a","from_id":"u","ts":"t"}`,
			&client.Edit{Room: "r", Seq: 5, Target: 3, Text: "new", From: "a", FromID: "u", TS: "t"}, ""},
		{`{"type":"delete","room":"r","seq":6,"target":3,"by":"b","by_id":"u2","ts":"t"}`,
			&client.Delete{Room: "r", Seq: 6, Target: 3, By: "b", ByID: "u2", TS: "t"}, ""},
		{`{"type":"member","room":"r","seq":7,"user":"c","user_id":"u3","change":"muted","role":null,"until":"later","by":"a","reason":"spam","ts":"t"}`,
			&client.MemberEvent{Room: "r", Seq: 7, User: "c", UserID: "u3", Change: "muted", Until: str("later"), By: str("a"), Reason: str("spam"), TS: "t"}, ""},
		{`{"type":"room","room":"r","seq":8,"topic":"hello","by":"a","ts":"t"}`,
			&client.RoomEvent{Room: "r", Seq: 8, Topic: "hello", By: "a", TS: "t"}, ""},
		{`{"type":"read","room":"r","seq":8,"ref":"y"}`, &client.Read{Room: "r", Seq: 8}, "y"},
		{`{"type":"receipt","room":"r","user":"b","user_id":"u2","seq":8}`, &client.Receipt{Room: "r", User: "b", UserID: "u2", Seq: 8}, ""},
		{`{"type":"invited","room":"r","by":"a"}`, &client.Invited{Room: "r", By: "a"}, ""},
		{`{"type":"left","room":"r","reason":"kicked"}`, &client.Left{Room: "r", Reason: "kicked"}, ""},
		{`{"type":"ack","ref":"z","room":"r","id":"m","seq":9,"ts":"t"}`, &client.Ack{Ref: "z", Room: "r", ID: "m", Seq: 9, TS: "t"}, "z"},
		{`{"type":"presence","room":"r","user":"b","user_id":"u2","event":"join"}`, &client.Presence{Room: "r", User: "b", UserID: "u2", Event: "join"}, ""},
		{`{"type":"typing","room":"r","from":"b","from_id":"u2"}`, &client.Typing{Room: "r", From: "b", FromID: "u2"}, ""},
		{`{"type":"authed","expires_at":"t"}`, &client.Authed{ExpiresAt: "t"}, ""},
		{`{"type":"error","code":"muted","message":"m","ref":"q","room":"r"}`, &client.FrameError{Code: client.CodeMuted, Message: "m", Ref: "q", Room: "r"}, "q"},
		{`{"type":"from_the_future"}`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in[9:20], func(t *testing.T) {
			got, ref, err := client.DecodeFrame([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || ref != tt.ref {
				t.Errorf("DecodeFrame = %#v, %q, want %#v, %q", got, ref, tt.want, tt.ref)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"type":"message","seq":"1"}`} {
		if _, _, err := client.DecodeFrame([]byte(bad)); err == nil {
			t.Errorf("DecodeFrame(%q) accepted it", bad)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","room":"r","seq":1,"text":"hi"}`,
		`{"type":"member","change":"muted","until":null}`,
		`{"type":"error","code":"muted"}`,
		`{"type":"joined","members":["a"]}`,
		`{"type":1}`, `null`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, _, err := client.DecodeFrame(data)
		if err != nil && ev != nil {
			t.Errorf("DecodeFrame(%q) returned an event and an error", data)
		}
	})
}
