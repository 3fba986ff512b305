package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatsvc/chat/internal/chat"
)

// Reconnect and retry timings.
const (
	// backoffBase and backoffMax bound the exponential back-off between
	// reconnects: the n-th attempt waits a random time (full jitter) up to
	// backoffBase·2ⁿ⁻¹, at most backoffMax.
	backoffBase = 250 * time.Millisecond
	backoffMax  = 10 * time.Second
	// goingAwaySpread is the random delay before reconnecting after a
	// server shutdown (1001), so a node's clients do not all come back in
	// the same instant.
	goingAwaySpread = 5 * time.Second
	// drainTimeout is how long the client waits, once stdin has ended, for
	// the server to acknowledge more of the lines still queued.
	drainTimeout = 10 * time.Second
	// rateLimitPause is the pause after the server said rate_limited.
	rateLimitPause = 250 * time.Millisecond
	// internalPause is the pause after the server failed a command
	// (internal) before it is tried again; maxTries bounds the tries.
	internalPause = time.Second
	maxTries      = 5
	// refreshRetry is the pause after a refresh that failed for a reason
	// other than the session's end (a network error).
	refreshRetry = 2 * time.Second
	// maxWake bounds how long the loop sleeps without a reason.
	maxWake = time.Minute
)

// roomState is what the client knows of one room it is in.
type roomState struct {
	// lastSeq is the newest seq shown; -1 until the first joined.
	lastSeq int64
	// joinSent and joined tell how far the join is on the current socket.
	joinSent bool
	joined   bool
	// leaving is set by /leave: the room is left once the lines queued for
	// it are acknowledged.
	leaving bool
}

// pendingLine is a line typed but not yet acknowledged by the server. It
// keeps its ref, so a resend after a reconnect is not stored twice.
type pendingLine struct {
	ref, room, text string
	sent            bool // written on the current socket
	tries           int
}

// refKind tells what a ref the client sent (other than a line's) was for.
type refKind struct {
	join bool
	room string
}

// client is the interactive chat: the state of the rooms, the queue of
// lines to send, and the current socket. All of it is owned by the loop's
// goroutine.
type client struct {
	api    *apiClient
	tokens *tokenSource
	out    io.Writer // messages and command output
	errw   io.Writer // status and errors

	rooms   map[string]*roomState
	order   []string // rooms by when they were joined
	current string
	pending []*pendingLine
	// inbox holds input lines not yet carried out: a command that reads
	// the server (/rooms, /history) waits until the lines typed before it
	// are acknowledged, so a script sees its own lines.
	inbox []string
	refs  map[string]refKind

	conn      *wsConn
	broken    bool // a write on conn failed; its reader reports the end
	user      string
	connected bool // a welcome arrived at least once

	attempts     int       // failed connects since the last good one
	nextDial     time.Time // when to connect again while disconnected
	holdUntil    time.Time // no frames before this (rate limited)
	refreshRetry time.Time // when set, the next refresh try after a failure

	eof     bool      // stdin ended or /quit
	drainBy time.Time // give up on the queue after this once eof
}

// newClient returns a client that starts in room.
func newClient(api *apiClient, tokens *tokenSource, out, errw io.Writer, room string) *client {
	c := &client{
		api:    api,
		tokens: tokens,
		out:    out,
		errw:   errw,
		rooms:  map[string]*roomState{},
		refs:   map[string]refKind{},
	}
	c.addRoom(room)
	return c
}

// loop runs the chat until lines ends and every line is acknowledged,
// /quit, ctx ends (a nil error), or something the client cannot get past
// (a revoked session, a refused connection).
func (c *client) loop(ctx context.Context, lines <-chan string) error {
	defer func() {
		if c.conn != nil {
			c.conn.close(websocket.CloseNormalClosure)
			c.conn = nil
		}
	}()
	for {
		if err := c.runInbox(ctx); err != nil {
			return err
		}
		now := time.Now()
		if c.eof && len(c.pending) == 0 && len(c.inbox) == 0 {
			return nil
		}
		if c.eof && now.After(c.drainBy) {
			return fmt.Errorf("gave up: the server did not acknowledge %d line(s)", len(c.pending)+len(c.inbox))
		}
		if !now.Before(c.refreshDue()) {
			if err := c.refresh(ctx); err != nil {
				return err
			}
		}
		if c.conn == nil && !now.Before(c.nextDial) {
			if err := c.connect(ctx); err != nil {
				return err
			}
		}
		c.flush()

		var events <-chan connEvent
		if c.conn != nil {
			events = c.conn.events
		}
		wake := time.NewTimer(time.Until(c.nextWake(now)))
		select {
		case <-ctx.Done():
			wake.Stop()
			if n := len(c.pending); n > 0 {
				c.status("stopped with %d line(s) not acknowledged", n)
			}
			return nil
		case line, ok := <-lines:
			if !ok {
				lines = nil
				c.quit()
				break
			}
			c.inbox = append(c.inbox, line)
			if line == "/quit" {
				lines = nil
			}
		case ev := <-events:
			if err := c.handleEvent(ctx, ev); err != nil {
				wake.Stop()
				return err
			}
		case <-wake.C:
		}
		wake.Stop()
	}
}

// runInbox carries out the input lines in order, up to a command that
// has to wait for the lines before it.
func (c *client) runInbox(ctx context.Context) error {
	for len(c.inbox) > 0 {
		line := c.inbox[0]
		if len(c.pending) > 0 && readsServer(line) {
			return nil
		}
		c.inbox = c.inbox[1:]
		if err := c.handleLine(ctx, line); err != nil {
			return err
		}
	}
	return nil
}

// quit starts the end: the loop returns once the queued lines are
// acknowledged, or after drainTimeout without progress.
func (c *client) quit() {
	if !c.eof {
		c.eof = true
		c.drainBy = time.Now().Add(drainTimeout)
	}
}

// nextWake returns when the loop has something to do without an event.
func (c *client) nextWake(now time.Time) time.Time {
	t := now.Add(maxWake)
	earlier := func(u time.Time) {
		if u.Before(t) {
			t = u
		}
	}
	earlier(c.refreshDue())
	if c.conn == nil {
		earlier(c.nextDial)
	}
	if c.holdUntil.After(now) {
		earlier(c.holdUntil)
	}
	if c.eof {
		earlier(c.drainBy.Add(time.Millisecond))
	}
	return t
}

// refreshDue returns when the access token is to be refreshed.
func (c *client) refreshDue() time.Time {
	if !c.refreshRetry.IsZero() {
		return c.refreshRetry
	}
	return c.tokens.refreshAt()
}

// refresh gets a new token pair and hands the access token to the open
// socket. Only the session's end is returned; other failures are retried.
func (c *client) refresh(ctx context.Context) error {
	if err := c.tokens.refresh(ctx); err != nil {
		if errors.Is(err, errSessionEnded) {
			return err
		}
		if ctx.Err() != nil {
			return nil // the loop ends on ctx
		}
		c.status("%v; retrying", err)
		c.refreshRetry = time.Now().Add(refreshRetry)
		return nil
	}
	c.refreshRetry = time.Time{}
	if c.conn != nil && !c.broken {
		ref := newRef()
		c.refs[ref] = refKind{}
		c.write(outFrame{Type: chat.TypeAuth, Token: c.tokens.access(), Ref: ref})
	}
	return nil
}

// connect opens a socket and queues the joins. A failure that a retry may
// fix schedules the next attempt and returns nil.
func (c *client) connect(ctx context.Context) error {
	conn, err := dialWS(ctx, c.api.wsURL(), c.tokens.access())
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		c.conn, c.broken = conn, false
		for _, r := range c.rooms {
			r.joinSent, r.joined = false, false
		}
		for _, p := range c.pending {
			p.sent = false
		}
		clear(c.refs)
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == 401:
			// The handshake refused the token. Ask the REST API about
			// it and refresh it when it has expired or been refused.
			if err := c.checkToken(ctx); err != nil {
				return err
			}
		case ae.Status == 400 || ae.Status == 403 || ae.Status == 404:
			return fmt.Errorf("the server refused the connection: %w", ae)
		}
	}
	c.attempts++
	d := backoff(c.attempts)
	c.nextDial = time.Now().Add(d)
	c.status("%v; retrying in %s", err, d.Round(time.Millisecond))
	return nil
}

// checkToken asks GET /api/v1/me whether the access token still works and
// refreshes it when the server refuses it.
func (c *client) checkToken(ctx context.Context) error {
	_, err := c.api.me(ctx, c.tokens.access())
	if !isAPIError(err, 401) {
		return nil
	}
	if err := c.tokens.refresh(ctx); err != nil {
		if errors.Is(err, errSessionEnded) {
			return err
		}
		c.status("%v", err)
	}
	return nil
}

// backoff returns the wait before the n-th reconnect attempt (n ≥ 1):
// a random time up to backoffBase·2ⁿ⁻¹, capped at backoffMax.
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 16 {
		d = min(backoffBase<<max(n-1, 0), backoffMax)
	}
	return mrand.N(d + 1)
}
