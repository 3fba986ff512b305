package main

import (
	"testing"

	"github.com/chatsvc/chat/client"
)

func TestEventLines(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	tests := []struct {
		ev   client.Event
		want string
	}{
		{&client.Edit{Room: "r", Target: 3, Text: "new", From: "a"}, "[r] a edited #3: new"},
		{&client.Delete{Room: "r", Target: 3, By: "b"}, "[r] * message #3 deleted by b"},
		{&client.RoomEvent{Room: "r", Topic: "t", By: "a"}, "[r] * a set the topic: t"},
		{&client.RoomEvent{Room: "r", By: "a"}, "[r] * a cleared the topic"},
		{&client.MemberEvent{Room: "r", User: "c", Change: "invited", By: str("a")}, "[r] * c was invited by a"},
		{&client.MemberEvent{Room: "r", User: "c", Change: "joined", By: str("c")}, "[r] * c joined"},
		{&client.MemberEvent{Room: "r", User: "c", Change: "left"}, "[r] * c left"},
		{&client.MemberEvent{Room: "r", User: "c", Change: "kicked", By: str("a"), Reason: str("rude")}, "[r] * c was kicked by a (rude)"},
		{&client.MemberEvent{Room: "r", User: "c", Change: "banned", By: str("a")}, "[r] * c was banned by a"},
		{&client.MemberEvent{Room: "r", User: "c", Change: "muted", Until: str("T"), By: str("a")}, "[r] * c was muted by a until T"},
		{&client.MemberEvent{Room: "r", User: "c", Change: "role", Role: str("admin"), By: str("a")}, "[r] * c is now admin by a"},
		{&client.Message{Room: "r"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := eventLine("#r", tt.ev); got != tt.want {
				t.Errorf("eventLine = %q, want %q", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		m    client.Message
		want string
	}{
		{client.Message{Room: "r", From: "a", Text: "hi"}, "[r] a: hi"},
		{client.Message{Room: "r", From: "a", Text: "hi", EditedAt: str("T")}, "[r] a: hi (edited)"},
		{client.Message{Room: "r", From: "a", Deleted: true}, "[r] a: (deleted)"},
	} {
		if got := messageLine("#r", &tt.m); got != tt.want {
			t.Errorf("messageLine = %q, want %q", got, tt.want)
		}
	}
	stored := client.Message{Room: "r", Seq: 12, From: "a", Text: "hi", EditedAt: str("T")}
	if got, want := storedLine("#r", &stored), "[r] #12 a: hi (edited)"; got != want {
		t.Errorf("storedLine = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		l    client.Left
		want string
	}{
		{client.Left{Room: "r", Reason: "kicked"}, "you were kicked from #r"},
		{client.Left{Room: "r", Reason: "banned"}, "you were banned from #r"},
		{client.Left{Room: "r", Reason: "room_deleted"}, "#r was deleted"},
		{client.Left{Room: "r", Reason: "left"}, "you left #r"},
		{client.Left{Room: "r"}, ""},
	} {
		if got := leftLine("#r", &tt.l); got != tt.want {
			t.Errorf("leftLine(%+v) = %q, want %q", tt.l, got, tt.want)
		}
	}
}
