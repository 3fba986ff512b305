package hub

import (
	"context"

	"github.com/chatsvc/chat/internal/chat"
)

// Invite sends invited to every socket of userID, on this node and, over
// the broker, on the others: by invited them to room.
func (h *Hub) Invite(ctx context.Context, room, userID, by string) {
	h.invitedLocal(room, userID, by)
	h.publish(ctx, chat.Event{Kind: chat.EventInvited, UserRoom: room, UserID: userID, Username: by})
}

func (h *Hub) invitedLocal(room, userID, by string) {
	h.DeliverToUser(userID, chat.InvitedFrame{Type: chat.TypeInvited, Room: room, By: by})
}

// DeleteRoom takes every socket out of a deleted room, with left
// room_deleted, on this node and, over the broker, on the others.
func (h *Hub) DeleteRoom(ctx context.Context, room string) {
	h.RemoveFromRoom("", room, chat.LeftRoomDeleted)
	h.publish(ctx, chat.Event{Kind: chat.EventRoomDeleted, Room: room})
}
