package httpapi

import (
	"context"

	"github.com/chatsvc/chat/internal/chat"
)

// Notifier is how the REST handlers tell the real-time side (the hub, on
// this node and, through the broker, on every other) what they changed.
// Each method is called after the change is durably stored, must not block
// for long, and carries no error back: the change is made, and delivery is
// the hub's business.
type Notifier interface {
	// Event delivers a stored stream event (a member or room event) to
	// every socket in its room, on every node, in seq order with the
	// room's other events. A member event that ends a membership (kicked,
	// banned, left) then takes the user's sockets out of the room, each
	// with `left` and the change as its reason.
	Event(ctx context.Context, ev chat.Message)
	// Invited sends `invited` (room, by) to every socket of the user.
	Invited(ctx context.Context, room, userID, by string)
	// RoomDeleted takes every socket out of the room on every node, each
	// with `left` reason chat.LeftRoomDeleted.
	RoomDeleted(ctx context.Context, room string)
	// SessionsRevoked closes the sockets of the sessions (4003) on every
	// node and forgets any cached state of them: a suspension revoked them.
	SessionsRevoked(ctx context.Context, sessionIDs []string)
}

// nopNotifier is the Notifier of a server without a real-time side.
type nopNotifier struct{}

func (nopNotifier) Event(context.Context, chat.Message)             {}
func (nopNotifier) Invited(context.Context, string, string, string) {}
func (nopNotifier) RoomDeleted(context.Context, string)             {}
func (nopNotifier) SessionsRevoked(context.Context, []string)       {}
