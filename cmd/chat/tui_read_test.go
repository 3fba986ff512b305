package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

// TestTUIReadMarker checks that a read from any of the user's sockets
// lowers the room's unread count to what follows the marker.
func TestTUIReadMarker(t *testing.T) {
	t.Parallel()
	msg := func(room string, seq int64, from string) eventMsg {
		return eventMsg{&client.Message{Room: room, Seq: seq, From: from, Text: "t", TS: "2026-11-25T07:53:37.123Z"}}
	}
	m := offlineTUI(t)
	m.rooms["den"] = newRoomView()
	m.Update(roomsMsg{rooms: []roomEntry{
		{name: "general", label: "#general", unread: 0, lastSeq: 0, state: client.StateMember},
		{name: "quiet", label: "#quiet", unread: 3, lastSeq: 9, state: client.StateMember},
	}})
	for seq := int64(1); seq <= 4; seq++ {
		m.Update(msg("den", seq, "bob"))
	}
	m.Update(msg("den", 5, "alice"))
	steps := []struct {
		read       client.Read
		room       string
		want       int
		reloadList bool
	}{
		{client.Read{Room: "den", Seq: 2}, "den", 2, false},
		{client.Read{Room: "den", Seq: 1}, "den", 2, false},
		{client.Read{Room: "den", Seq: 5}, "den", 0, false},
		{client.Read{Room: "quiet", Seq: 4}, "quiet", 3, true},
		{client.Read{Room: "quiet", Seq: 9}, "quiet", 0, false},
	}
	for _, s := range steps {
		cmd := m.read(&s.read)
		if got := m.unread[s.room]; got != s.want {
			t.Errorf("after %+v: %d unread in %s, want %d", s.read, got, s.room, s.want)
		}
		if (cmd != nil) != s.reloadList {
			t.Errorf("after %+v: reloads the room list: %v, want %v", s.read, cmd != nil, s.reloadList)
		}
	}
	if v := m.View(); strings.Contains(v, "#quiet 3") || strings.Contains(v, "#den 2") {
		t.Errorf("a count still shows:\n%s", v)
	}
}

// TestTUIReadElsewhere checks, against a real server, that a terminal
// marks what it shows read and that another terminal of the same user
// then clears the room's unread count.
func TestTUIReadElsewhere(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := newAccount(t, srv.URL, "alice")
	bob := newAccount(t, srv.URL, "bob")

	away := startTUI(t, alice, "den")
	away.until(t, "den joined", func(string) bool { return away.m.rooms["den"].joined })
	away.typeLine("/join general")
	away.until(t, "general joined", func(string) bool { return away.m.rooms["general"] != nil && away.m.rooms["general"].joined })

	b := startTUI(t, bob, "den")
	b.until(t, "den joined", func(string) bool { return b.m.rooms["den"].joined })
	b.typeLine("are you there?")
	b.typeLine("hello?")
	b.shows(t, "bob: hello?")
	away.shows(t, "#den 2")

	here := startTUI(t, alice, "den")
	here.shows(t, "bob: hello?")
	away.until(t, "the count cleared by the other terminal", func(v string) bool {
		return away.m.unread["den"] == 0 && !strings.Contains(v, "#den 2")
	})
}

// TestLineModeMarksRead checks, against a real server, that line mode
// marks what it prints read: the room list shows nothing unread after
// another user's messages were printed.
func TestLineModeMarksRead(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := newAccount(t, srv.URL, "alice")
	bob := newAccount(t, srv.URL, "bob")
	const wait = 15 * time.Second
	a := startChat(t, alice)
	a.waitErr(t, "joined #general", wait)
	b := startChat(t, bob)
	b.waitErr(t, "joined #general", wait)
	for _, s := range []string{"one", "two", "three"} {
		b.line(t, s)
	}
	a.waitOut(t, "[general] bob: three\n", wait)
	deadline := time.Now().Add(wait)
	for {
		a.line(t, "/rooms")
		time.Sleep(300 * time.Millisecond)
		last := ""
		for _, l := range strings.Split(a.out.String(), "\n") {
			if strings.HasPrefix(l, "#general ") {
				last = l
			}
		}
		if strings.Contains(last, " 0 unread") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's #general after she saw bob's messages: %q, want 0 unread", last)
		}
	}
}
