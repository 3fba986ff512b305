package main

import (
	"context"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/httpapi"
	"github.com/chatsvc/chat/internal/hub"
)

// hubNotifier tells the hub what the REST handlers changed. Suspension
// goes through the revocation path every node already has; the rest of
// httpapi.Notifier (stream events, removals, invitations, room deletion)
// is delivered once the hub implements it, and is a no-op until then.
type hubNotifier struct {
	hub  *hub.Hub
	auth *auth.Service
}

var _ httpapi.Notifier = hubNotifier{}

func (hubNotifier) Event(context.Context, chat.Message)             {}
func (hubNotifier) Removed(context.Context, string, string, string) {}
func (hubNotifier) Invited(context.Context, string, string, string) {}
func (hubNotifier) RoomDeleted(context.Context, string)             {}

// SessionsRevoked forgets each session and closes its sockets on every
// node, as a logout does.
func (n hubNotifier) SessionsRevoked(ctx context.Context, ids []string) {
	for _, id := range ids {
		n.auth.Forget(id)
		n.hub.RevokeSession(ctx, id)
	}
}
