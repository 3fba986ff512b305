package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

// TestLineModeNamesDirectRooms checks every line that line mode prints
// about a room, for a direct room: each names it after the other member
// (@carol, as the room list does), never by its name on the server.
func TestLineModeNamesDirectRooms(t *testing.T) {
	t.Parallel()
	const dm = "dm-0123456789abcdef"
	str := func(s string) *string { return &s }
	fe := func(code client.Code, msg string) *client.FrameError {
		return &client.FrameError{Code: code, Message: msg, Room: dm}
	}
	// sent returns the answer to the line "hi" typed in the direct room.
	sent := func(m *lineMode, err error) sendDone {
		r := m.a.exec(context.Background(), view{room: dm}, "hi")
		return sendDone{client.Result{Err: err}, r.what}
	}
	tests := []struct {
		name string
		do   func(m *lineMode)
		want string
	}{
		{"joined", func(m *lineMode) {
			m.handle(&client.Joined{Room: dm, LastSeq: 3, Members: []string{"bob", "carol"}})
		}, "joined @carol (2 here: bob, carol)\n"},
		{"message", func(m *lineMode) {
			m.handle(&client.Message{Room: dm, Seq: 4, From: "carol", Text: "hi bob"})
		}, "[@carol] carol: hi bob\n"},
		{"message from the history", func(m *lineMode) {
			m.handle(&client.Message{Room: dm, Seq: 4, From: "carol", Text: "missed", FromHistory: true})
		}, "@carol: missed message(s) fetched from the history\n"},
		{"edit", func(m *lineMode) {
			m.handle(&client.Edit{Room: dm, Seq: 5, Target: 4, From: "carol", Text: "hello bob"})
		}, "[@carol] carol edited #4: hello bob\n"},
		{"delete", func(m *lineMode) {
			m.handle(&client.Delete{Room: dm, Seq: 6, Target: 4, By: "carol"})
		}, "[@carol] * message #4 deleted by carol\n"},
		{"member event", func(m *lineMode) {
			m.handle(&client.MemberEvent{Room: dm, Seq: 7, User: "carol", Change: "muted", By: str("bob")})
		}, "[@carol] * carol was muted by bob\n"},
		{"topic", func(m *lineMode) {
			m.handle(&client.RoomEvent{Room: dm, Seq: 8, Topic: "us", By: "carol"})
		}, "[@carol] * carol set the topic: us\n"},
		{"presence", func(m *lineMode) {
			m.handle(&client.Presence{Room: dm, User: "carol", Event: "leave"})
		}, "* carol left @carol\n"},
		{"left", func(m *lineMode) {
			m.handle(&client.Left{Room: dm, Reason: "room_deleted"})
		}, "@carol was deleted; lines are not sent until you /join a room\n"},
		{"join refused", func(m *lineMode) {
			m.handle(fe(client.CodeRoomNotFound, "no such room"))
		}, "cannot join @carol: no such room (room_not_found); now in #general\n"},
		{"restarted room", func(m *lineMode) {
			m.handle(fe(client.CodeInvalidSince, "since is above the room's newest seq"))
		}, "@carol restarted on the server"},
		{"other error", func(m *lineMode) {
			m.handle(fe(client.CodeMuted, "you are muted"))
		}, "server: @carol: you are muted (muted)\n"},
		{"send refused", func(m *lineMode) {
			m.pending++
			m.answered(sent(m, fe(client.CodeMuted, "you are muted")))
		}, "not done: @carol: hi: you are muted (muted)\n"},
		{"send out of the room", func(m *lineMode) {
			m.pending++
			m.answered(sent(m, fmt.Errorf("#%s: %w", dm, client.ErrNotInRoom)))
		}, "not done: @carol: hi: not in the room\n"},
		{"join again", func(m *lineMode) { m.join(context.Background(), dm, -1) }, "now in @carol\n"},
		{"leave", func(m *lineMode) { m.leave(dm) }, "left @carol; now in #general\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut servertest.Buffer
			m := offlineLines(t, &out, &errOut)
			m.a.setDMName(dm, "carol")
			m.rooms["general"] = &lineRoom{}
			m.rooms[dm] = &lineRoom{}
			m.order = []string{"general", dm}
			m.current = dm
			tt.do(m)
			got := out.String() + errOut.String()
			if !strings.Contains(got, tt.want) || strings.Contains(got, dm) {
				t.Errorf("printed %q, want %q and no %s", got, tt.want, dm)
			}
		})
	}
}

// offlineLines returns a line mode whose socket never runs: the test hands
// it the events.
func offlineLines(t testing.TB, out, errOut *servertest.Buffer) *lineMode {
	t.Helper()
	api, err := client.New("http://127.0.0.1:1", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{api: api, sock: api.Socket(), dmNames: map[string]string{}}
	return &lineMode{a: a, out: out, errw: errOut, rooms: map[string]*lineRoom{}, results: make(chan sendDone, 1)}
}
