package ws

import (
	"context"
	"encoding/json"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
)

// opTimeout bounds one store operation started by a frame. It does not
// derive from any request context, so a shutdown lets accepted sends finish.
const opTimeout = 10 * time.Second

// handleFrame carries out one client frame.
func (c *conn) handleFrame(data []byte) {
	f, err := chat.DecodeFrame(data)
	if !c.limiter.Allow() {
		c.hub.m.RateLimitedWS.Inc()
		c.sendError(chat.CodeRateLimited, "too many frames; slow down", f.Ref, f.Room)
		return
	}
	if err != nil {
		c.sendError(chat.ErrorCode(err), chat.ErrorMessage(err), f.Ref, f.Room)
		return
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
	}
}

func (c *conn) join(f chat.ClientFrame) {
	h := c.hub
	mb := c.rooms[f.Room]
	if mb == nil && len(c.rooms) >= h.opt.MaxRoomsPerConn {
		c.sendError(chat.CodeTooManyRooms, "this socket is in too many rooms; leave one first", f.Ref, f.Room)
		return
	}
	if !c.allowed(f, ActJoin) {
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
	stored, err := h.opt.Store.EnsureRoom(ctx, f.Room)
	if err != nil {
		c.storeFailed("join: ensure room", f.Room, err)
		fail(chat.CodeInternal, "could not join the room")
		return
	}
	r.mu.Lock()
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
			fr.ts = 0 // a replay is a delivery, but its age is no delivery latency
			if !c.enqueueWait(fr) {
				return
			}
			replayed++
		}
	}
	b, err := json.Marshal(chat.JoinedFrame{Type: chat.TypeJoined, Room: f.Room, LastSeq: last, Replayed: replayed, Truncated: truncated, Members: members, Ref: f.Ref})
	if err == nil {
		c.enqueueWait(outFrame{data: b, size: len(b), kind: kindData})
	}
	c.finishReplay(mb)
}

// finishReplay queues the live messages held back during the replay and
// makes the membership live.
func (c *conn) finishReplay(mb *member) {
	r := mb.room
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range mb.pending {
		c.enqueue(f)
	}
	mb.pending = nil
	mb.replaying = false
}

func (c *conn) leave(f chat.ClientFrame) {
	if mb := c.rooms[f.Room]; mb != nil {
		delete(c.rooms, f.Room)
		mb.room.leave(c, mb)
	}
	c.sendJSON(chat.LeftFrame{Type: chat.TypeLeft, Room: f.Room, Ref: f.Ref})
}

func (c *conn) send(f chat.ClientFrame) {
	h := c.hub
	mb := c.rooms[f.Room]
	if mb == nil {
		c.sendError(chat.CodeNotJoined, "join the room before sending to it", f.Ref, f.Room)
		return
	}
	if err := chat.ValidateText(*f.Text, h.opt.MaxTextChars); err != nil {
		c.sendError(chat.ErrorCode(err), chat.ErrorMessage(err), f.Ref, f.Room)
		return
	}
	if !c.allowed(f, ActSend) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	msg, dup, err := h.opt.Store.Append(ctx, chat.NewMessage{Room: f.Room, UserID: c.userID, Username: c.username, Text: *f.Text, Ref: f.Ref})
	if err != nil {
		code := chat.ErrorCode(err)
		if code != chat.CodeRefConflict {
			c.storeFailed("send: store message", f.Room, err)
			code = chat.CodeInternal
		}
		msgText := "the message could not be stored"
		if code == chat.CodeRefConflict {
			msgText = chat.ErrorMessage(err)
		}
		c.sendError(code, msgText, f.Ref, f.Room)
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

func (c *conn) typing(f chat.ClientFrame) {
	mb := c.rooms[f.Room]
	if mb == nil {
		c.sendError(chat.CodeNotJoined, "join the room first", f.Ref, f.Room)
		return
	}
	if !c.allowed(f, ActTyping) {
		return
	}
	if mb.room.relayTyping(c, c.userID, c.username) {
		c.hub.publish(context.Background(), chat.Event{Kind: chat.EventTyping, Room: f.Room, UserID: c.userID, Username: c.username})
	}
}

func (c *conn) auth(f chat.ClientFrame) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	claims, err := c.hub.opt.Auth.Authenticate(ctx, f.Token)
	if err != nil && !auth.IsRefused(err) {
		c.logger().Warn("auth frame: token check failed", "err", err)
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

// allowed asks Options.Authorize whether the socket may carry out act for
// frame f, and answers a refusal with an error frame.
func (c *conn) allowed(f chat.ClientFrame, act Act) bool {
	authorize := c.hub.opt.Authorize
	if authorize == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	err := authorize(ctx, c.userID, f.Room, act)
	if err == nil {
		return true
	}
	if chat.ErrorCode(err) == chat.CodeInternal {
		c.logger().Warn("authorize", "room", f.Room, "act", act, "err", err)
	}
	c.sendError(chat.ErrorCode(err), chat.ErrorMessage(err), f.Ref, f.Room)
	return false
}

// storeFailed logs a failed store operation: the first failure of an outage
// as an error, the rest (one per frame while the store is away) at debug
// level, so an outage is logged once.
func (c *conn) storeFailed(op, room string, err error) {
	if !c.hub.storeDown.Swap(true) {
		c.logger().Error(op, "room", room, "err", err)
		c.hub.log.Error("store unreachable; sends fail with internal until it returns")
		return
	}
	c.logger().Debug(op, "room", room, "err", err)
}

// storeWorked notes a store operation that succeeded, ending an outage.
func (h *Hub) storeWorked() {
	if h.storeDown.Load() && h.storeDown.Swap(false) {
		h.log.Info("store reachable again")
	}
}
