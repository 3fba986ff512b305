package hub

import (
	"context"

	"github.com/chatsvc/chat/internal/chat"
)

// RevokeSession closes every socket of the session on this node with 4003
// and tells the other nodes to do the same.
func (h *Hub) RevokeSession(ctx context.Context, sessionID string) {
	h.revokeLocal(sessionID)
	h.publish(ctx, chat.Event{Kind: chat.EventRevoke, SessionID: sessionID})
}

func (h *Hub) revokeLocal(sessionID string) {
	h.forEachConn(func(c *Client) {
		if c.sessionID == sessionID {
			c.sock.Close(chat.CloseSessionRevoked)
		}
	})
}

func (h *Hub) publish(ctx context.Context, ev chat.Event) {
	if h.opt.Broker == nil {
		return
	}
	ev.Node = h.opt.Node
	if err := h.opt.Broker.Publish(ctx, ev); err != nil {
		h.m.BrokerErrors.Inc()
		h.log.Warn("broker publish failed", "kind", ev.Kind, "err", err)
		return
	}
	h.m.BrokerPublished.Inc()
}

// HandleEvent applies an event published by another node, or one the
// broker raises itself (resync, node gone).
func (h *Hub) HandleEvent(ev chat.Event) {
	if ev.Node == h.opt.Node {
		return
	}
	switch ev.Kind {
	case chat.EventRevoke:
		h.revokeLocal(ev.SessionID)
	case chat.EventMessage:
		if ev.Message == nil {
			return
		}
		// A hint: what is delivered is what the store holds (hint.go).
		if r := h.lookupRoom(ev.Message.Room); r != nil && ev.Message.Seq > 0 {
			r.hint(ev.Message.Seq)
		}
	case chat.EventTyping:
		if r := h.lookupRoom(ev.Room); r != nil {
			r.relayTyping(nil, ev.UserID, ev.Username)
		}
	case chat.EventPresence:
		if r := h.lookupRoom(ev.Room); r != nil {
			r.remotePresence(ev.Node, ev.UserID, ev.Username, ev.Presence)
		}
	case chat.EventInvited:
		h.invitedLocal(ev.UserRoom, ev.UserID, ev.Username)
	case chat.EventRoomDeleted:
		h.RemoveFromRoom("", ev.Room, chat.LeftRoomDeleted)
	case chat.EventRead:
		h.remoteRead(ev)
	case chat.EventReceipt:
		h.remoteReceipt(ev)
	case chat.EventNodeGone:
		for _, r := range h.allRooms() {
			r.nodeGone(ev.Node)
		}
	case chat.EventResync:
		if ev.Room == "" {
			h.background(h.Resync)
		} else if r := h.lookupRoom(ev.Room); r != nil {
			h.background(func() {
				r.catchUp(0)
				r.refreshPresence()
			})
		}
	}
}

func (h *Hub) allRooms() []*room {
	var rooms []*room
	for i := range h.roomShard {
		s := &h.roomShard[i]
		s.mu.Lock()
		for _, r := range s.rooms {
			rooms = append(rooms, r)
		}
		s.mu.Unlock()
	}
	return rooms
}

// Resync tells every room to check the store for messages it may have
// missed, announces this node's presence in it again and reads the other
// nodes' presence again, as after the broker was away. It first checks the
// session of every socket again: revocations published meanwhile never
// arrived.
func (h *Hub) Resync() {
	h.recheckAll()
	for _, r := range h.allRooms() {
		r.catchUp(0)
		r.announcePresence()
		r.refreshPresence()
	}
}
