package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
)

// opTimeout bounds one store operation started by a frame. It does not
// derive from any request context, so a shutdown lets accepted sends finish.
const opTimeout = 10 * time.Second

// Handle carries out one frame the peer of c sent. The transport calls it
// from one goroutine per socket, which owns the socket's rooms, and lets a
// close asked for meanwhile wait until it returns. A send returns once it
// is queued for the store; its ack follows from the socket's acker
// (sends.go), before the answer to any later frame and before the 1001 of
// a shutdown, so an accepted send is acknowledged before the socket
// closes.
//
// A panic while carrying out the frame is a bug: it is logged with its
// stack and closes this socket with 1011 rather than ending the process
// and every other socket with it.
func (h *Hub) Handle(c *Client, data []byte) {
	defer func() {
		if v := recover(); v != nil {
			c.Logger().Error("frame handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			c.sock.Close(chat.CloseInternal)
		}
	}()
	c.handleFrame(data)
}

// handleFrame carries out one client frame.
func (c *Client) handleFrame(data []byte) {
	f, err := chat.DecodeFrame(data)
	if !c.admitted && !c.limiter.Allow() {
		c.hub.m.RateLimitedWS.Inc()
		c.inOrder(func() { c.sendError(chat.CodeRateLimited, "too many frames; slow down", f.Ref, f.Room) })
		return
	}
	if err != nil {
		c.refuse(f, err)
		return
	}
	if f.Type != chat.TypeSend {
		// What the socket sees follows the order of its frames.
		c.settleSends()
	}
	switch f.Type {
	case chat.TypeJoin:
		c.join(f)
	case chat.TypeLeave:
		c.leave(f)
	case chat.TypeSend:
		c.send(f)
	case chat.TypeTyping:
		c.typing(f)
	case chat.TypeAuth:
		c.auth(f)
	case chat.StreamEdit, chat.StreamDelete:
		c.change(f)
	case chat.TypeRead:
		c.read(f)
	}
}

func (c *Client) join(f chat.ClientFrame) {
	h := c.hub
	mb := c.member(f.Room)
	if mb == nil && c.roomCount() >= h.opt.MaxRoomsPerConn {
		c.sendError(chat.CodeTooManyRooms, "this socket is in too many rooms; leave one first", f.Ref, f.Room)
		return
	}
	var r *room
	if mb != nil {
		r = mb.room
	} else {
		r = h.getRoom(f.Room)
	}
	fail := func(code, msg string) {
		if mb == nil {
			h.releaseRoom(r)
		}
		c.sendError(code, msg, f.Ref, f.Room)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	r.loadPresence()
	gen := r.accessGen()
	joined, err := h.opt.Store.JoinRoom(ctx, f.Room, chat.User{ID: c.userID, Username: c.username}, h.serverAdmin(c.username), h.mayCreate(ctx, c.userID))
	if err != nil {
		switch code := chat.ErrorCode(err); code {
		case chat.CodeRoomNotFound, chat.CodeForbidden, chat.CodeInvalidRoom, chat.CodeRateLimited:
			fail(code, chat.ErrorMessage(err))
		default:
			c.storeFailed("join: join room", f.Room, err)
			fail(chat.CodeInternal, "could not join the room")
		}
		return
	}
	h.storeWorked()
	h.joinedRoom(ctx, joined)
	h.joinedReads(r, joined)
	stored := joined.Room
	r.mu.Lock()
	r.rememberLocked(joined, gen)
	r.setLastLocked(stored.LastSeq)
	behind := r.last < stored.LastSeq
	r.mu.Unlock()
	if behind {
		r.catchUp(stored.LastSeq)
	}

	r.mu.Lock()
	last := r.last
	if f.Since != nil && *f.Since > last {
		r.mu.Unlock()
		fail(chat.CodeInvalidSince, "since is above the room's newest seq")
		return
	}
	if mb == nil {
		mb = r.addMemberLocked(c)
		c.rooms[f.Room] = mb
	}
	mb.replaying = true
	members := r.memberNamesLocked()
	r.mu.Unlock()
	r.settle()

	replayed, truncated := 0, false
	if f.Since != nil && *f.Since < last {
		msgs, trunc, err := h.opt.Store.After(ctx, f.Room, *f.Since, last, h.opt.ReplayLimit)
		if err != nil {
			c.storeFailed("join: replay", f.Room, err)
			c.finishReplay(mb)
			c.sendError(chat.CodeInternal, "could not read the room's history", f.Ref, f.Room)
			return
		}
		truncated = trunc
		for _, m := range msgs {
			fr, err := messageFrame(m)
			if err != nil {
				continue
			}
			fr.TS = 0 // a replay is a delivery, but its age is no delivery latency
			if c.sock.DeliverWait(context.Background(), fr) != nil {
				return
			}
			replayed++
		}
	}
	b, err := json.Marshal(chat.JoinedFrame{Type: chat.TypeJoined, Room: f.Room, LastSeq: last, Replayed: replayed, Truncated: truncated, Members: members, Ref: f.Ref})
	if err == nil {
		_ = c.sock.DeliverWait(context.Background(), Frame{Kind: KindData, Data: b})
	}
	c.finishReplay(mb)
}

// finishReplay queues the live messages held back during the replay and
// makes the membership live.
func (c *Client) finishReplay(mb *member) {
	r := mb.room
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range mb.pending {
		c.deliver(f)
	}
	mb.pending = nil
	mb.replaying = false
}

func (c *Client) leave(f chat.ClientFrame) {
	if mb := c.member(f.Room); mb != nil {
		delete(c.rooms, f.Room)
		mb.room.leave(c, mb)
	}
	c.sendJSON(chat.LeftFrame{Type: chat.TypeLeft, Room: f.Room, Ref: f.Ref})
}

func (c *Client) send(f chat.ClientFrame) {
	h := c.hub
	mb := c.member(f.Room)
	if mb == nil {
		c.inOrder(func() { c.sendError(chat.CodeNotJoined, "join the room before sending to it", f.Ref, f.Room) })
		return
	}
	if err := chat.ValidateText(*f.Text, h.opt.MaxTextChars); err != nil {
		c.refuse(f, err)
		return
	}
	if !c.allowed(f, mb, chat.ActSend) {
		return
	}
	c.submitSend(f, mb.room, chat.NewMessage{Room: f.Room, UserID: c.userID, Username: c.username, Text: *f.Text, Ref: f.Ref})
}

// acked acknowledges an event this socket's frame stored and, unless the
// frame repeated an earlier ref, delivers it in the room's order and
// publishes it to the other nodes.
func (c *Client) acked(ctx context.Context, f chat.ClientFrame, r *room, msg chat.Message, dup bool) {
	c.hub.storeWorked()
	c.sendJSON(chat.AckFrame{Type: chat.TypeAck, Ref: f.Ref, Room: msg.Room, ID: msg.ID, Seq: msg.Seq, TS: chat.FormatTime(msg.TS)})
	if !dup {
		c.hub.spread(ctx, r, msg)
	}
}

func (c *Client) typing(f chat.ClientFrame) {
	mb := c.member(f.Room)
	if mb == nil {
		c.sendError(chat.CodeNotJoined, "join the room first", f.Ref, f.Room)
		return
	}
	if !c.allowed(f, mb, chat.ActTyping) {
		return
	}
	if mb.room.relayTyping(c, c.userID, c.username) {
		c.hub.publish(context.Background(), chat.Event{Kind: chat.EventTyping, Room: f.Room, UserID: c.userID, Username: c.username})
	}
}

func (c *Client) auth(f chat.ClientFrame) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	claims, err := c.hub.opt.Auth.Authenticate(ctx, f.Token)
	if err != nil && !auth.IsRefused(err) {
		c.Logger().Warn("auth frame: token check failed", "err", err)
		c.sendError(chat.CodeInternal, "the token could not be checked; try again", f.Ref, "")
		return
	}
	if err != nil {
		c.sendError(chat.ErrorCode(err), "the token was not accepted", f.Ref, "")
		return
	}
	if claims.SessionID != c.sessionID || claims.UserID != c.userID {
		c.sendError(chat.CodeInvalidToken, "the token belongs to another session", f.Ref, "")
		return
	}
	c.expires.Store(claims.ExpiresAt.Add(c.hub.opt.Leeway).UnixNano())
	c.sendJSON(chat.AuthedFrame{Type: chat.TypeAuthed, ExpiresAt: chat.FormatTime(claims.ExpiresAt), Ref: f.Ref})
}

// storeFailed logs a failed store operation: the first failure of an outage
// as an error, the rest (one per frame while the store is away) at debug
// level, so an outage is logged once.
func (c *Client) storeFailed(op, room string, err error) {
	if !c.hub.storeDown.Swap(true) {
		c.Logger().Error(op, "room", room, "err", err)
		c.hub.log.Error("store unreachable; sends fail with internal until it returns")
		return
	}
	c.Logger().Debug(op, "room", room, "err", err)
}

// storeWorked notes a store operation that succeeded, ending an outage.
func (h *Hub) storeWorked() {
	if h.storeDown.Load() && h.storeDown.Swap(false) {
		h.log.Info("store reachable again")
	}
}
