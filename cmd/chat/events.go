package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatsvc/chat/internal/chat"
)

// handleEvent handles one frame, or the end of the socket.
func (c *client) handleEvent(ctx context.Context, ev connEvent) error {
	if ev.err != nil {
		return c.disconnected(ctx, ev.err)
	}
	switch f := ev.frame.(type) {
	case *chat.WelcomeFrame:
		c.user = f.User.Username
		if c.connected {
			c.status("reconnected")
		} else {
			c.status("connected to %s as %s", c.api.base, c.user)
		}
		c.connected = true
		if len(c.rooms) == 0 {
			c.attempts = 0
		}
	case *chat.JoinedFrame:
		c.joined(ctx, f)
	case *chat.MessageFrame:
		c.deliver(ctx, chat.MessageJSON{Room: f.Room, Seq: f.Seq, ID: f.ID, From: f.From, FromID: f.FromID, Text: f.Text, TS: f.TS})
	case *chat.AckFrame:
		for i, p := range c.pending {
			if p.ref == f.Ref {
				c.pending = append(c.pending[:i], c.pending[i+1:]...)
				c.drainBy = time.Now().Add(drainTimeout)
				break
			}
		}
	case *chat.PresenceFrame:
		if r := c.rooms[f.Room]; r != nil && !r.leaving && f.User != c.user {
			verb := "joined"
			if f.Event == chat.PresenceLeave {
				verb = "left"
			}
			c.status("* %s %s #%s", f.User, verb, f.Room)
		}
	case *chat.ErrorFrame:
		c.serverError(f)
	}
	return nil
}

// joined completes a join: the replay is over, live messages follow.
func (c *client) joined(ctx context.Context, f *chat.JoinedFrame) {
	r := c.rooms[f.Room]
	if r == nil {
		return // left meanwhile
	}
	r.joined = true
	c.attempts = 0
	if r.lastSeq < 0 {
		r.lastSeq = f.LastSeq
		if !r.leaving {
			c.status("joined #%s (%d here: %s)", f.Room, len(f.Members), strings.Join(f.Members, ", "))
		}
		return
	}
	// Every seq up to last_seq comes by replay; whatever the replay did
	// not carry (truncated) is paged over REST.
	if f.LastSeq > r.lastSeq {
		c.fill(ctx, f.Room, r, f.LastSeq+1)
	}
}

// deliver shows a message once: seqs already shown are dropped, and a gap
// before it is filled over REST first, so the room reads in order.
func (c *client) deliver(ctx context.Context, m chat.MessageJSON) {
	r := c.rooms[m.Room]
	if r == nil || r.lastSeq < 0 || m.Seq <= r.lastSeq {
		return
	}
	if m.Seq > r.lastSeq+1 {
		c.fill(ctx, m.Room, r, m.Seq)
	}
	if m.Seq <= r.lastSeq {
		return
	}
	r.lastSeq = m.Seq
	if !r.leaving {
		c.printMessage(m)
	}
}

// fill shows the messages of room from r.lastSeq+1 to before-1, paged
// over REST.
func (c *client) fill(ctx context.Context, room string, r *roomState, before int64) {
	msgs, err := c.history(ctx, room, before, r.lastSeq, math.MaxInt)
	if err != nil {
		c.status("could not fetch the messages of #%s between %d and %d: %v", room, r.lastSeq, before, err)
		return
	}
	if len(msgs) > 0 && !r.leaving {
		c.status("#%s: %d missed message(s) fetched from the history", room, len(msgs))
	}
	for _, m := range msgs {
		if m.Seq > r.lastSeq {
			r.lastSeq = m.Seq
			if !r.leaving {
				c.printMessage(m)
			}
		}
	}
}

// serverError handles an error frame: the answer to a join, a line or an
// auth.
func (c *client) serverError(f *chat.ErrorFrame) {
	if k, ok := c.refs[f.Ref]; ok {
		delete(c.refs, f.Ref)
		if k.join {
			c.joinFailed(k.room, f)
		} else {
			c.status("the server refused the new token: %s (%s)", f.Message, f.Code)
		}
		return
	}
	for i, p := range c.pending {
		if p.ref != f.Ref {
			continue
		}
		p.sent = false
		switch f.Code {
		case chat.CodeRateLimited:
			c.holdUntil = time.Now().Add(rateLimitPause)
			return
		case chat.CodeNotJoined:
			if r := c.rooms[p.room]; r != nil {
				r.joinSent, r.joined = false, false
			}
			return
		case chat.CodeInternal:
			if p.tries++; p.tries < maxTries {
				c.holdUntil = time.Now().Add(internalPause)
				return
			}
		}
		c.pending = append(c.pending[:i], c.pending[i+1:]...)
		c.status("not sent to #%s: %s (%s): %s", p.room, f.Message, f.Code, p.text)
		return
	}
	c.status("server: %s (%s)", f.Message, f.Code)
}

// joinFailed handles an error answering a join.
func (c *client) joinFailed(room string, f *chat.ErrorFrame) {
	r := c.rooms[room]
	if r == nil {
		return
	}
	switch f.Code {
	case chat.CodeRateLimited:
		r.joinSent = false
		c.holdUntil = time.Now().Add(rateLimitPause)
		return
	case chat.CodeInvalidSince:
		// The room is behind what this client saw: the server lost
		// messages (a restore). Carry on from its present.
		c.status("#%s restarted on the server: showing its messages from now on", room)
		r.lastSeq, r.joinSent = -1, false
		return
	}
	c.status("cannot join #%s: %s (%s)", room, f.Message, f.Code)
	c.removeRoom(room)
}

// disconnected handles the end of the socket by its close code: stop,
// refresh and reconnect, or reconnect after a pause.
func (c *client) disconnected(ctx context.Context, err error) error {
	code, reason := closeCode(err)
	c.conn.abort()
	c.conn = nil
	for _, r := range c.rooms {
		r.joinSent, r.joined = false, false
	}
	for _, p := range c.pending {
		p.sent = false
	}
	if reason == "" || code == closeAbnormal {
		reason = closeReason(code)
	}
	now := time.Now()
	switch code {
	case chat.CloseSessionRevoked.Code:
		return errors.New("session revoked (logged out elsewhere?): run `chat login` again")
	case websocket.ClosePolicyViolation:
		return fmt.Errorf("the server closed the connection: %s (%d)", reason, code)
	case websocket.CloseUnsupportedData, websocket.CloseInvalidFramePayloadData, websocket.CloseMessageTooBig:
		return fmt.Errorf("the server closed the connection: %s (%d); this is a bug of the client", reason, code)
	case websocket.CloseNormalClosure:
		c.status("the server ended the connection")
		if len(c.pending) > 0 {
			return fmt.Errorf("the server ended the connection with %d line(s) not acknowledged", len(c.pending))
		}
		return errStopped
	case chat.CloseTokenExpired.Code:
		if err := c.refresh(ctx); err != nil {
			return err
		}
		c.nextDial = now
	case websocket.CloseGoingAway:
		c.attempts = 0
		c.nextDial = now.Add(mrand.N(goingAwaySpread))
	default: // 1006, 1011, 1013, 4008 and codes this client does not know
		c.attempts++
		c.nextDial = now.Add(backoff(c.attempts))
	}
	c.status("disconnected: %s (%d); reconnecting in %s", reason, code, max(time.Until(c.nextDial), 0).Round(time.Millisecond))
	return nil
}

// errStopped ends the loop without an error: the server closed normally.
var errStopped = errors.New("stopped")

// closeReason names the close codes of the contract.
func closeReason(code int) string {
	switch code {
	case websocket.CloseAbnormalClosure:
		return "connection lost"
	case chat.CloseGoingAway.Code, chat.CloseInternal.Code, chat.CloseTryAgainLater.Code,
		chat.CloseTokenExpired.Code, chat.CloseTooSlow.Code:
		return chat.CloseReason(code)
	}
	return "closed"
}
