package hub

import (
	"context"
	"errors"

	"github.com/chatsvc/chat/internal/chat"
)

// change carries out an edit or a delete frame: the change is stored as the
// room's next event, acknowledged (with the target's id and the event's seq
// and time), delivered in seq order and published, as a send is. The
// store refuses an edit of another user's message or of anything but a
// live message; a delete from a socket is taken from the message's author.
func (c *Client) change(f chat.ClientFrame) {
	h := c.hub
	mb := c.member(f.Room)
	if mb == nil {
		c.sendError(chat.CodeNotJoined, "join the room first", f.Ref, f.Room)
		return
	}
	nm := chat.NewMessage{Room: f.Room, UserID: c.userID, Username: c.username, Ref: f.Ref, Kind: f.Type, Target: *f.Seq}
	if f.Type == chat.StreamEdit {
		if err := chat.ValidateText(*f.Text, h.opt.MaxTextChars); err != nil {
			c.sendError(chat.ErrorCode(err), chat.ErrorMessage(err), f.Ref, f.Room)
			return
		}
		if !c.allowed(f, ActSend) {
			return
		}
		nm.Text = *f.Text
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if f.Type == chat.StreamDelete && !c.authorOf(ctx, f) {
		return
	}
	msg, dup, err := h.opt.Store.Append(ctx, nm)
	if err != nil {
		c.changeFailed(f, err)
		return
	}
	h.storeWorked()
	c.sendJSON(chat.AckFrame{Type: chat.TypeAck, Ref: f.Ref, Room: msg.Room, ID: msg.ID, Seq: msg.Seq, TS: chat.FormatTime(msg.TS)})
	if dup {
		return
	}
	mb.room.deliver(msg)
	h.publish(ctx, chat.Event{Kind: chat.EventMessage, Room: msg.Room, Message: &msg})
}

// authorOf reports whether c's user wrote the message f deletes, answering
// the frame with message_not_found or forbidden when not.
func (c *Client) authorOf(ctx context.Context, f chat.ClientFrame) bool {
	m, err := c.hub.opt.Store.MessageBySeq(ctx, f.Room, *f.Seq)
	switch {
	case errors.Is(err, chat.ErrNotFound), errors.Is(err, chat.ErrMessageNotFound):
		c.sendError(chat.CodeMessageNotFound, "no such message in the room", f.Ref, f.Room)
		return false
	case err != nil:
		c.changeFailed(f, err)
		return false
	case m.EventKind() != chat.StreamMessage || m.Deleted:
		c.sendError(chat.CodeMessageNotFound, "no such message in the room", f.Ref, f.Room)
		return false
	case m.FromID != c.userID:
		c.sendError(chat.CodeForbidden, "only the author deletes a message here", f.Ref, f.Room)
		return false
	}
	return true
}

// changeFailed answers a refused or failed edit or delete.
func (c *Client) changeFailed(f chat.ClientFrame, err error) {
	switch code := chat.ErrorCode(err); code {
	case chat.CodeMessageNotFound, chat.CodeForbidden, chat.CodeRefConflict:
		c.sendError(code, chat.ErrorMessage(err), f.Ref, f.Room)
	default:
		c.storeFailed(f.Type+": store", f.Room, err)
		c.sendError(chat.CodeInternal, "the change could not be stored", f.Ref, f.Room)
	}
}
