package main

import (
	"context"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/httpapi"
	"github.com/chatsvc/chat/internal/hub"
)

// hubNotifier tells the hub what the REST handlers changed. Stored stream
// events and suspensions reach every node; removals, invitations and room
// deletions reach the sockets of this node (the node that served the REST
// request).
type hubNotifier struct {
	hub  *hub.Hub
	auth *auth.Service
}

var _ httpapi.Notifier = hubNotifier{}

// Event delivers a stored member or room event in its room's order.
func (n hubNotifier) Event(ctx context.Context, ev chat.Message) { n.hub.Stored(ctx, ev) }

// Removed takes the user's sockets out of the room with left and reason.
func (n hubNotifier) Removed(_ context.Context, room, userID, reason string) {
	n.hub.RemoveFromRoom(userID, room, reason)
}

// Invited sends invited to every socket of the user.
func (n hubNotifier) Invited(_ context.Context, room, userID, by string) {
	n.hub.DeliverToUser(userID, chat.InvitedFrame{Type: chat.TypeInvited, Room: room, By: by})
}

// RoomDeleted takes every socket out of the room with left room_deleted.
func (n hubNotifier) RoomDeleted(_ context.Context, room string) {
	n.hub.RemoveFromRoom("", room, chat.LeftRoomDeleted)
}

// SessionsRevoked forgets each session and closes its sockets on every
// node, as a logout does.
func (n hubNotifier) SessionsRevoked(ctx context.Context, ids []string) {
	for _, id := range ids {
		n.auth.Forget(id)
		n.hub.RevokeSession(ctx, id)
	}
}
