package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Reconnect and retry timings.
const (
	// backoffBase and backoffMax bound the exponential back-off between
	// reconnects: the n-th attempt waits a random time (full jitter) up to
	// backoffBase·2ⁿ⁻¹, at most backoffMax.
	backoffBase = 250 * time.Millisecond
	backoffMax  = 10 * time.Second
	// goingAwaySpread is the most random delay before reconnecting after
	// a server shutdown (1001), so a node's clients do not all come back
	// at once.
	goingAwaySpread = 5 * time.Second
	// rateLimitPause is the pause after the server said rate_limited.
	rateLimitPause = 250 * time.Millisecond
	// internalPause is the pause after the server failed a command
	// (internal) before it is tried again; maxTries bounds the tries.
	internalPause = time.Second
	maxTries      = 5
	// refreshRetry is the pause after a refresh that failed for a reason
	// other than the session's end (a network error).
	refreshRetry = 2 * time.Second
	// readEvery is the least time between two read frames for one room,
	// so marking each event read as it is shown costs few frames of the
	// socket's rate limit.
	readEvery = time.Second
	// maxWake bounds how long the loop sleeps without a reason.
	maxWake = time.Minute
)

// State is the state of a Socket's connection.
type State int

// States of a Socket.
const (
	// Connecting: no socket is open; one is being dialled.
	Connecting State = iota
	// Connected: the server said welcome.
	Connected
	// Disconnected: the socket ended; the next attempt is after Retry.
	Disconnected
)

// String names the state.
func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	}
	return "disconnected"
}

// StateChange reports a change of a Socket's connection.
type StateChange struct {
	State State
	// User is the user the server greeted (Connected).
	User string
	// Code and Reason are the close code that ended the socket (1006 for
	// a broken connection) and its reason; Err is why a dial failed.
	Code   int
	Reason string
	Err    error
	// Retry is the wait before the next attempt (Disconnected).
	Retry time.Duration
}

func (*StateChange) event() {}

// Result is the outcome of a send, edit or delete. Err is nil when the
// server acknowledged it (Ack): it is stored. Otherwise Err is
//
//   - a *FrameError when the server refused it (nothing was stored);
//   - ErrNotInRoom when it never reached the server: the socket was not in
//     its room, or was taken out of it before the command went out;
//   - ErrClosed when Run ended before it went out;
//   - ErrOutcomeUnknown (with ErrClosed when Run ended) when it reached the
//     server but its answer was lost with the connection and the socket
//     could not ask again: it may or may not be stored.
//
// A command in flight when the socket is taken out of its room (a kick, a
// ban, a leave elsewhere, the room's deletion) gets the server's answer,
// which may well be its ack.
type Result struct {
	Ack Ack
	Err error
}

// request kinds.
const (
	reqJoin = iota
	reqLeave
	reqCommand // send, edit, delete
	reqRead
	reqTyping
)

// request is a call of a Socket method, carried out by its loop.
type request struct {
	kind int
	room string
	// since is the join's since (< 0: none) or the read's seq.
	since int64
	cmd   *pending
}

// Socket is a WebSocket to the server that stays up until Run's context
// ends or the server says to stop. Its methods may be called before and
// while Run runs, from any goroutine; commands are carried out in the
// order they were made.
type Socket struct {
	c      *Client
	events chan Event
	wake   chan struct{}
	done   chan struct{} // closed when Run returns

	mu       sync.Mutex
	requests []request
	started  bool
	stopped  bool
	user     string

	loop loopState // owned by Run's goroutine
}

// Socket returns a socket of the client's session; call Run to connect.
func (c *Client) Socket() *Socket {
	return &Socket{
		c:      c,
		events: make(chan Event),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		loop:   newLoopState(),
	}
}

// Events returns the channel of what arrives: stream events of each room
// once and in seq order (messages fetched over REST for a truncated replay
// included), the other frames, and *StateChange. It is closed when Run
// returns. Run waits for the reader, so read it steadily.
func (s *Socket) Events() <-chan Event { return s.events }

// User returns the username the server greeted the socket with, "" before.
func (s *Socket) User() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// Join joins room and keeps it joined across reconnects. With since ≥ 0
// the server first replays the stream after since; with since < 0 only
// live events follow. After a reconnect the socket rejoins with since =
// the last seq it delivered.
func (s *Socket) Join(room string, since int64) {
	s.enqueue(request{kind: reqJoin, room: room, since: since})
}

// Leave leaves room on this socket (the membership stays; see
// Client.LeaveRoom), once the commands queued for it are answered.
func (s *Socket) Leave(room string) { s.enqueue(request{kind: reqLeave, room: room}) }

// MarkRead moves the user's read marker in room to seq; a seq not above
// one already marked is not sent, and read frames for one room go at most
// once a second (the newest seq), so it may be called for every event
// shown.
func (s *Socket) MarkRead(room string, seq int64) {
	s.enqueue(request{kind: reqRead, room: room, since: seq})
}

// Typing tells the room the user is typing.
func (s *Socket) Typing(room string) { s.enqueue(request{kind: reqTyping, room: room}) }

// SendAsync queues text for room and returns the channel of its result.
func (s *Socket) SendAsync(room, text string) <-chan Result {
	return s.command(&pending{typ: "send", room: room, text: text})
}

// EditAsync queues an edit of the message at seq in room.
func (s *Socket) EditAsync(room string, seq int64, text string) <-chan Result {
	return s.command(&pending{typ: "edit", room: room, seq: seq, text: text})
}

// DeleteAsync queues the deletion of the message at seq in room.
func (s *Socket) DeleteAsync(room string, seq int64) <-chan Result {
	return s.command(&pending{typ: "delete", room: room, seq: seq})
}

// Send sends text to room and waits for its ack. After a reconnect the
// send is repeated with the same ref, so it is stored once. The error is
// one of those of Result, or ctx's.
func (s *Socket) Send(ctx context.Context, room, text string) (Ack, error) {
	return wait(ctx, s.SendAsync(room, text))
}

// Edit replaces the text of the user's message at seq and waits for its
// ack.
func (s *Socket) Edit(ctx context.Context, room string, seq int64, text string) (Ack, error) {
	return wait(ctx, s.EditAsync(room, seq, text))
}

// Delete deletes the message at seq and waits for its ack.
func (s *Socket) Delete(ctx context.Context, room string, seq int64) (Ack, error) {
	return wait(ctx, s.DeleteAsync(room, seq))
}

// wait waits for a command's result.
func wait(ctx context.Context, ch <-chan Result) (Ack, error) {
	select {
	case r := <-ch:
		return r.Ack, r.Err
	case <-ctx.Done():
		return Ack{}, ctx.Err()
	}
}

// command queues a send, edit or delete.
func (s *Socket) command(p *pending) <-chan Result {
	p.ref = newRef()
	p.result = make(chan Result, 1)
	s.enqueue(request{kind: reqCommand, room: p.room, cmd: p})
	return p.result
}

// enqueue hands a request to the loop.
func (s *Socket) enqueue(r request) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		if r.cmd != nil {
			r.cmd.result <- Result{Err: ErrClosed}
		}
		return
	}
	s.requests = append(s.requests, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// takeRequests returns the queued requests.
func (s *Socket) takeRequests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

// Run connects and keeps the socket up until ctx ends (it returns
// ctx.Err()) or the server says to stop: ErrSessionEnded or
// ErrSessionRevoked when the session is over, a *CloseError for another
// close code to stop on (1000 included), an *APIError for a handshake the
// server refuses for good. Commands not yet answered fail with ErrClosed;
// those already written to the server also match ErrOutcomeUnknown.
// Run may be called once; a second call returns ErrRunning.
func (s *Socket) Run(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.started = true
	s.mu.Unlock()
	if started {
		return ErrRunning
	}
	err := s.run(ctx)
	s.mu.Lock()
	s.stopped = true
	left := s.requests
	s.requests = nil
	s.mu.Unlock()
	for _, r := range left {
		if r.cmd != nil {
			r.cmd.result <- Result{Err: ErrClosed}
		}
	}
	for _, p := range s.loop.pending {
		p.result <- Result{Err: p.closed()}
	}
	s.loop.pending = nil
	if s.loop.conn != nil {
		s.loop.conn.close(websocket.CloseNormalClosure)
		s.loop.conn = nil
	}
	close(s.events)
	close(s.done)
	return err
}

// newRef returns a random ref: 32 hex digits.
func newRef() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// backoff returns the wait before the n-th reconnect attempt (n ≥ 1): a
// random time up to backoffBase·2ⁿ⁻¹, capped at backoffMax.
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 16 {
		d = min(backoffBase<<max(n-1, 0), backoffMax)
	}
	return mrand.N(d + 1)
}
