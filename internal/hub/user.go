package hub

import (
	"context"
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
	h.forUser(userID, func(c *Client) {
		c.deliver(Frame{Kind: KindData, Data: b})
		n++
	})
	return n
}

// RemoveFromRoom takes every socket of userID (every socket, when userID is
// empty: the room was deleted) on this node out of room and reports how
// many it took out. Each gets a final left frame, with reason, after its
// last delivery from the room, and the room hears the user leave as for a
// leave frame. A kick, a ban or a REST leave takes effect through the
// room's member event instead, on every node in the room's order.
func (h *Hub) RemoveFromRoom(userID, room, reason string) int {
	r := h.lookupRoom(room)
	if r == nil {
		return 0
	}
	r.mu.Lock()
	n := r.removeUserLocked(userID, reason)
	r.mu.Unlock()
	r.settle()
	return n
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

// serverAdmin reports whether username is a server admin.
func (h *Hub) serverAdmin(username string) bool {
	return h.opt.ServerAdmin != nil && h.opt.ServerAdmin(username)
}

// mayCreate is the check a join of an unknown name passes before the room
// is made: the user's room-creation limit.
func (h *Hub) mayCreate(ctx context.Context, userID string) func() error {
	if h.opt.RoomCreate == nil {
		return nil
	}
	return func() error {
		retry, err := h.opt.RoomCreate.Blocked(ctx, userID)
		if err != nil {
			return err
		}
		if retry > 0 {
			h.m.RateLimitedRoomCreate.Inc()
			return &chat.Error{Code: chat.CodeRateLimited, Message: "too many rooms created, try again later", RetryAfter: retry}
		}
		return nil
	}
}

// joinedRoom counts a room the join created and delivers the member event
// it stored, before the joining socket is in the room (the socket reads it
// by replay, as every seq up to the room's last).
func (h *Hub) joinedRoom(ctx context.Context, res chat.JoinResult) {
	if res.Created && h.opt.RoomCreate != nil {
		if _, err := h.opt.RoomCreate.Hit(ctx, res.Member.UserID); err != nil {
			h.log.Warn("room create limit: count failed", "err", err)
		}
	}
	if res.Event != nil {
		h.Stored(ctx, *res.Event)
	}
}

// Stored delivers a stream event stored outside a socket (a member or
// room event made over REST, a join's member event) to the room's sockets
// on this node, in seq order with the room's other events, and publishes
// it to the other nodes.
func (h *Hub) Stored(ctx context.Context, m chat.Message) {
	if m.Seq <= 0 {
		return
	}
	h.spread(ctx, h.lookupRoom(m.Room), m)
}

// spread delivers a stored event to room r on this node (nil when no
// socket here is in it) and publishes it to the other nodes.
func (h *Hub) spread(ctx context.Context, r *room, m chat.Message) {
	if r != nil {
		r.deliver(m)
	}
	h.publish(ctx, chat.Event{Kind: chat.EventMessage, Room: m.Room, Message: &m})
}
