package main

import (
	tea "github.com/charmbracelet/bubbletea"

	"github.com/chatsvc/chat/client"
)

// read applies the user's read marker, moved by any of their sockets (this
// one, another terminal, a browser): the room's unread count drops to the
// messages it shows after the marker, or to none when the marker is at
// the newest seq known. A room the view follows no stream of is read
// again from the server.
func (m *tuiModel) read(e *client.Read) tea.Cmd {
	if e.Room == m.current {
		m.unread[e.Room] = 0
		return nil
	}
	if r := m.rooms[e.Room]; r != nil {
		if e.Seq >= r.lastSeq {
			m.unread[e.Room] = 0
		} else {
			m.unread[e.Room] = min(m.unread[e.Room], r.unreadAfter(e.Seq))
		}
		return nil
	}
	for i := range m.list {
		if l := &m.list[i]; l.name == e.Room && e.Seq >= l.lastSeq {
			l.unread, m.unread[e.Room] = 0, 0
			return nil
		}
	}
	return m.loadRooms()
}

// unreadAfter counts the messages shown after seq that are neither the
// user's own nor deleted.
func (r *roomView) unreadAfter(seq int64) int {
	n := 0
	for _, e := range r.entries {
		if e.kind == entryMessage && e.seq > seq && !e.own && !e.deleted {
			n++
		}
	}
	return n
}
