package main

import (
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// flush writes what is due on the socket: joins, leaves of rooms whose
// lines are all acknowledged, and the next line. Lines go one at a time,
// each after the previous one's ack, so they are stored in the order typed.
func (c *client) flush() {
	if c.conn == nil || c.broken || time.Now().Before(c.holdUntil) {
		return
	}
	for _, name := range append([]string(nil), c.order...) {
		r := c.rooms[name]
		if r.leaving && !c.hasPending(name) {
			if r.joinSent {
				c.write(outFrame{Type: chat.TypeLeave, Room: name})
			}
			c.removeRoom(name)
			continue
		}
		if !r.joinSent {
			f := outFrame{Type: chat.TypeJoin, Room: name, Ref: newRef()}
			if r.lastSeq >= 0 {
				since := r.lastSeq
				f.Since = &since
			}
			c.refs[f.Ref] = refKind{join: true, room: name}
			if !c.write(f) {
				return
			}
			r.joinSent = true
		}
	}
	for len(c.pending) > 0 {
		p := c.pending[0]
		r := c.rooms[p.room]
		if r == nil {
			c.pending = c.pending[1:]
			c.status("not sent: no longer in #%s: %s", p.room, p.text)
			continue
		}
		if p.sent || !r.joined {
			return
		}
		if c.write(outFrame{Type: chat.TypeSend, Room: p.room, Text: p.text, Ref: p.ref}) {
			p.sent = true
		}
		return
	}
}

// hasPending reports whether lines for room wait for their ack.
func (c *client) hasPending(room string) bool {
	for _, p := range c.pending {
		if p.room == room {
			return true
		}
	}
	return false
}

// write sends one frame and reports whether it went out. A failed write
// breaks the socket; its reader then reports the end.
func (c *client) write(f outFrame) bool {
	if c.conn == nil || c.broken {
		return false
	}
	if err := c.conn.write(f); err != nil {
		c.broken = true
		c.conn.cut()
		return false
	}
	return true
}

// addRoom adds room to the rooms the client is in and makes it current.
func (c *client) addRoom(room string) {
	if r := c.rooms[room]; r != nil {
		r.leaving = false
	} else {
		c.rooms[room] = &roomState{lastSeq: -1}
		c.order = append(c.order, room)
	}
	c.current = room
}

// removeRoom forgets room; when it was current, the latest joined room
// that stays becomes current.
func (c *client) removeRoom(room string) {
	delete(c.rooms, room)
	for i, n := range c.order {
		if n == room {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	if c.current == room {
		c.current = c.fallbackRoom()
	}
}

// fallbackRoom returns the latest joined room not being left, or "".
func (c *client) fallbackRoom() string {
	for i := len(c.order) - 1; i >= 0; i-- {
		if !c.rooms[c.order[i]].leaving {
			return c.order[i]
		}
	}
	return ""
}
