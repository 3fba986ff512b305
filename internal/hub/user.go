package hub

import (
	"encoding/json"

	"github.com/chatsvc/chat/internal/chat"
)

// DeliverToUser queues the frame v, encoded once, for every socket of
// userID on this node (an invitation, a read marker) and reports how many
// sockets it was queued for. It never blocks; a socket whose queue is full
// is closed with 4008.
func (h *Hub) DeliverToUser(userID string, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		h.log.Error("encode frame", "err", err)
		return 0
	}
	n := 0
	h.forEachConn(func(c *Client) {
		if c.userID == userID {
			c.deliver(Frame{Kind: KindData, Data: b})
			n++
		}
	})
	return n
}

// RemoveFromRoom takes every socket of userID on this node out of room, as
// after a kick, a ban or the room's deletion, and reports how many it took
// out. Each gets a final left frame after its last delivery from the room,
// and the room hears the user leave as for a leave frame.
//
// The socket's reader owns its memberships, so the membership is only
// marked removed here; the reader forgets it the next time it looks.
func (h *Hub) RemoveFromRoom(userID, room string) int {
	r := h.lookupRoom(room)
	if r == nil {
		return 0
	}
	r.mu.Lock()
	var gone []*member
	for c, mb := range r.members {
		if c.userID == userID {
			gone = append(gone, mb)
		}
	}
	for _, mb := range gone {
		r.leaveLocked(mb.conn, mb)
		mb.removed.Store(true)
		mb.pending = nil
		// Queued under the room's lock: nothing from the room follows it.
		mb.conn.sendJSON(chat.LeftFrame{Type: chat.TypeLeft, Room: r.name})
	}
	r.mu.Unlock()
	r.flushOutbox()
	for range gone {
		h.releaseRoom(r)
	}
	return len(gone)
}

// member returns c's membership of room, forgetting one that
// RemoveFromRoom ended. Only the goroutine calling Handle calls it.
func (c *Client) member(room string) *member {
	mb := c.rooms[room]
	if mb != nil && mb.removed.Load() {
		delete(c.rooms, room)
		return nil
	}
	return mb
}

// roomCount is the number of rooms c is in, forgetting the memberships
// RemoveFromRoom ended.
func (c *Client) roomCount() int {
	for name, mb := range c.rooms {
		if mb.removed.Load() {
			delete(c.rooms, name)
		}
	}
	return len(c.rooms)
}
