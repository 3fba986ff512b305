package hub

import (
	"context"

	"github.com/chatsvc/chat/internal/chat"
)

// change carries out an edit or a delete frame: the change is stored as the
// room's next event, acknowledged (with the target's id and the event's seq
// and time), delivered in seq order and published, as a send is. The
// store refuses an edit of another user's message, a delete by anyone but
// the author or a moderator over them, and either of anything but a live
// message. An edit is refused while the editor is muted; a delete is not.
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
		if !c.allowed(f, mb, chat.ActEdit) {
			return
		}
		nm.Text = *f.Text
	}
	if f.Type == chat.StreamDelete {
		nm.ServerAdmin = h.opt.ServerAdmin
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	msg, dup, err := h.opt.Store.Append(ctx, nm)
	if err != nil {
		c.changeFailed(f, err)
		return
	}
	c.acked(ctx, f, mb.room, msg, dup)
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
