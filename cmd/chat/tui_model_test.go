package main

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/chatsvc/chat/client"
)

// offlineTUI returns a view whose socket never runs: the test hands it
// the events.
func offlineTUI(t testing.TB) *tuiModel {
	t.Helper()
	api, err := client.New("http://127.0.0.1:1", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{api: api, sock: api.Socket(), dmNames: map[string]string{}}
	m := newTUI(context.Background(), a, "general")
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	m.Update(eventMsg{&client.StateChange{State: client.Connected, User: "alice"}})
	return m
}

func TestTUIStreamEvents(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	msg := func(seq int64, from, text string) client.Event {
		return &client.Message{Room: "general", Seq: seq, From: from, Text: text, TS: "2026-11-25T07:53:37.123Z"}
	}
	tests := []struct {
		name   string
		events []client.Event
		want   []string
		gone   []string
	}{
		{"messages", []client.Event{msg(1, "bob", "hi"), msg(2, "alice", "hello")},
			[]string{"#1 bob: hi", "#2 › alice: hello", "connected as alice"}, nil},
		{"a duplicate shows once", []client.Event{msg(1, "bob", "once"), msg(1, "bob", "once")},
			[]string{"bob: once"}, nil},
		{"edit", []client.Event{msg(1, "bob", "teh"), &client.Edit{Room: "general", Seq: 2, Target: 1, Text: "the", From: "bob"}},
			[]string{"bob: the (edited)"}, []string{"teh"}},
		{"delete", []client.Event{msg(1, "bob", "oops"), &client.Delete{Room: "general", Seq: 2, Target: 1, By: "bob"}},
			[]string{"bob: (message deleted)"}, []string{"oops"}},
		{"member", []client.Event{&client.MemberEvent{Room: "general", Seq: 3, User: "carol", Change: "muted", Until: str("2026-11-25T08:00:00.000Z"), By: str("alice"), Reason: str("spam")}},
			[]string{"* carol was muted by alice until 2026-11-25T08:00:00.000Z (spam)"}, nil},
		{"topic", []client.Event{&client.RoomEvent{Room: "general", Seq: 4, Topic: "release day", By: "alice"}},
			[]string{"#general — release day", "* alice set the topic: release day"}, nil},
		{"disconnected", []client.Event{&client.StateChange{State: client.Disconnected, Code: 1001, Reason: "going_away"}},
			[]string{"offline: disconnected: going_away (1001)"}, []string{"connected as alice"}},
		{"typing", []client.Event{&client.Typing{Room: "general", From: "bob"}},
			[]string{"bob is typing…"}, nil},
		{"another room counts unread", []client.Event{&client.Message{Room: "random", Seq: 1, From: "bob", Text: "psst"}},
			nil, []string{"psst"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := offlineTUI(t)
			for _, ev := range tt.events {
				m.Update(eventMsg{ev})
			}
			v := m.View()
			for _, s := range tt.want {
				if n := strings.Count(v, s); n != 1 {
					t.Errorf("%q %d times on the screen, want once:\n%s", s, n, v)
				}
			}
			for _, s := range tt.gone {
				if strings.Contains(v, s) {
					t.Errorf("%q still on the screen:\n%s", s, v)
				}
			}
		})
	}
}

func TestTUIRoomsAndLeaving(t *testing.T) {
	t.Parallel()
	m := offlineTUI(t)
	m.Update(roomsMsg{rooms: []roomEntry{
		{name: "general", label: "#general", kind: client.KindPublic, unread: 0, state: client.StateMember},
		{name: "ops", label: "#ops", kind: client.KindPrivate, unread: 4, state: client.StateMember},
		{name: "dm-x", label: "@bob", kind: client.KindDirect, unread: 1, state: client.StateMember},
		{name: "secret", label: "#secret", kind: client.KindPrivate, state: client.StateInvited},
	}})
	v := m.View()
	for _, s := range []string{"#ops private 4", "@bob 1", "#secret invited"} {
		if !strings.Contains(v, s) {
			t.Errorf("no %q in the room list:\n%s", s, v)
		}
	}
	// Ctrl+N opens the next room of the list.
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlN})
	if m.current != "ops" || m.unread["ops"] != 0 {
		t.Errorf("after Ctrl+N: current %q with %d unread, want ops read", m.current, m.unread["ops"])
	}
	// A kick takes the user out of the current room.
	m.Update(eventMsg{&client.Left{Room: "ops", Reason: "kicked"}})
	if m.current == "ops" || m.rooms["ops"] != nil {
		t.Errorf("still in ops after a kick: current %q", m.current)
	}
	if !strings.Contains(m.View(), "you were kicked from #ops") {
		t.Errorf("no notice of the kick:\n%s", m.View())
	}
	// The session's end stops the view with its error.
	_, cmd := m.Update(replyMsg{reply{err: client.ErrSessionEnded}})
	if cmd == nil || m.err == nil {
		t.Error("a session end did not stop the view")
	}
}

// TestTUINamesDirectRooms checks that the view names a direct room after
// the other member wherever it names the room, as line mode does.
func TestTUINamesDirectRooms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   client.Event
		want string
	}{
		{"title", nil, "@bob"},
		{"error", &client.FrameError{Room: "dm-x", Code: client.CodeMuted, Message: "you are muted"}, "@bob: you are muted (muted)"},
		{"presence", &client.Presence{Room: "dm-x", User: "bob", Event: "join"}, "bob joined @bob"},
		{"left", &client.Left{Room: "dm-x", Reason: "kicked"}, "you were kicked from @bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := offlineTUI(t)
			m.a.setDMName("dm-x", "bob")
			m.open("dm-x")
			if tt.ev != nil {
				m.Update(eventMsg{tt.ev})
			}
			if v := m.View(); !strings.Contains(v, tt.want) || strings.Contains(v, "dm-x") {
				t.Errorf("want %q and no dm-x on the screen:\n%s", tt.want, v)
			}
		})
	}
}
