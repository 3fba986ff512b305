package main

import (
	"fmt"
	"strings"

	"github.com/chatsvc/chat/client"
)

// label names a room in what line mode prints: see app.roomLabel.
func (m *lineMode) label(room string) string { return m.a.roomLabel(room) }

// handle shows one event of the socket.
func (m *lineMode) handle(ev client.Event) {
	switch e := ev.(type) {
	case *client.StateChange:
		if s := stateLine(e, m.a.api.URL(), m.connected); s != "" {
			m.status("%s", s)
		}
		if e.State == client.Connected {
			m.connected = true
		}
	case *client.Joined:
		r := m.rooms[e.Room]
		if r == nil {
			return
		}
		r.shown = max(r.shown, e.LastSeq)
		r.paging = false
		if !r.announced {
			r.announced = true
			m.status("joined %s (%d here: %s)", m.label(e.Room), len(e.Members), strings.Join(e.Members, ", "))
		}
	case client.StreamEvent:
		m.stream(e)
	case *client.Presence:
		if e.User != m.a.sock.User() {
			verb := "joined"
			if e.Event == "leave" {
				verb = "left"
			}
			m.status("* %s %s %s", e.User, verb, m.label(e.Room))
		}
	case *client.Left:
		if s := leftLine(m.label(e.Room), e); s != "" && m.rooms[e.Room] != nil {
			m.removed(e.Room, s)
		}
	case *client.Invited:
		m.status("%s invited you to %s: /join %s", e.By, m.label(e.Room), e.Room)
	case *client.FrameError:
		m.frameError(e)
	}
}

// stream prints a stream event and marks it read.
func (m *lineMode) stream(ev client.StreamEvent) {
	room, seq := ev.Position()
	r := m.rooms[room]
	if r == nil {
		return
	}
	if msg, ok := ev.(*client.Message); ok {
		if msg.FromHistory && !r.paging {
			m.status("%s: missed message(s) fetched from the history", m.label(room))
		}
		r.paging = msg.FromHistory
		if msg.From == m.a.sock.User() {
			r.lastOwn = seq
		}
		fmt.Fprintln(m.out, messageLine(m.label(room), msg))
	} else if s := eventLine(m.label(room), ev); s != "" {
		r.paging = false
		fmt.Fprintln(m.out, s)
	}
	r.shown = max(r.shown, seq)
	m.a.sock.MarkRead(room, seq)
}

// frameError reports an error of the server; a refused join drops the
// room.
func (m *lineMode) frameError(e *client.FrameError) {
	switch {
	case e.Room != "" && e.Code == client.CodeInvalidSince:
		m.status("%s restarted on the server: showing its messages from now on", m.label(e.Room))
	case e.Room != "" && m.rooms[e.Room] != nil && joinRefusal(e.Code):
		m.forget(e.Room)
		where := "; /join a room to chat"
		if m.current != "" {
			where = "; now in " + m.label(m.current)
		}
		m.status("cannot join %s: %s (%s)%s", m.label(e.Room), e.Message, e.Code, where)
	default:
		m.status("server: %s", errorText(m.label(e.Room), e))
	}
}

// joinRefusal reports whether code refuses a join for good.
func joinRefusal(code client.Code) bool {
	switch code {
	case client.CodeRoomNotFound, client.CodeForbidden, client.CodeInvalidRoom, client.CodeTooManyRooms:
		return true
	}
	return false
}
