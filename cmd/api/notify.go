package main

import (
	"context"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/httpapi"
	"github.com/chatsvc/chat/internal/hub"
)

// hubNotifier tells the hub what the REST handlers changed; each change
// reaches the sockets of every node. A kick, a ban or a leave takes the
// user's sockets out of the room through its stored member event, which
// every node delivers in the room's order.
type hubNotifier struct {
	hub  *hub.Hub
	auth *auth.Service
}

var _ httpapi.Notifier = hubNotifier{}

// Event delivers a stored member or room event in its room's order.
func (n hubNotifier) Event(ctx context.Context, ev chat.Message) { n.hub.Stored(ctx, ev) }

// Invited sends invited to every socket of the user on every node.
func (n hubNotifier) Invited(ctx context.Context, room, userID, by string) {
	n.hub.Invite(ctx, room, userID, by)
}

// RoomDeleted takes every socket on every node out of the room with left
// room_deleted.
func (n hubNotifier) RoomDeleted(ctx context.Context, room string) {
	n.hub.DeleteRoom(ctx, room)
}

// SessionsRevoked forgets each session and closes its sockets on every
// node, as a logout does.
func (n hubNotifier) SessionsRevoked(ctx context.Context, ids []string) {
	for _, id := range ids {
		n.auth.Forget(id)
		n.hub.RevokeSession(ctx, id)
	}
}
