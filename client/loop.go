package client

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// roomState is what the loop knows of one room it is in.
type roomState struct {
	// lastSeq is the newest seq delivered; -1 while there is none to
	// join with since.
	lastSeq int64
	// joinSent and joined tell how far the join is on the current socket.
	joinSent bool
	joined   bool
	// leaving is set by Leave: the room is left once its commands are
	// answered.
	leaving bool
	// readWant is the read marker asked for, readSent the one sent, and
	// readAt the earliest time of the next read frame.
	readWant, readSent int64
	readAt             time.Time
}

// pending is a send, edit or delete not yet answered. It keeps its ref, so
// a resend after a reconnect is not stored twice.
type pending struct {
	typ, ref, room, text string
	seq                  int64
	// sent is set while it is written on the current socket: its answer
	// comes on this socket, even when the room is taken away meanwhile.
	sent bool
	// lost is set once it was written on a socket that ended before its
	// answer came: the server may have stored it (see outcome.go).
	lost   bool
	tries  int
	result chan Result
}

// refKind tells what a ref the loop sent (other than a command's) was for.
type refKind struct {
	typ  string // join, auth or read
	room string
}

// loopState is the state Run's goroutine owns.
type loopState struct {
	rooms     map[string]*roomState
	order     []string
	pending   []*pending
	refs      map[string]refKind
	outq      []Event
	conn      *wsConn
	broken    bool   // a write on conn failed; its reader reports the end
	authToken string // the access token the socket last got

	attempts     int       // failed connects since the last good one
	nextDial     time.Time // when to connect again while disconnected
	holdUntil    time.Time // no frames before this (rate limited)
	refreshRetry time.Time // when set, the next refresh try after a failure
}

func newLoopState() loopState {
	return loopState{rooms: map[string]*roomState{}, refs: map[string]refKind{}}
}

// run is the loop of Run.
func (s *Socket) run(ctx context.Context) error {
	l := &s.loop
	if tok, _ := s.c.accessToken(); tok == "" {
		return ErrNotLoggedIn
	}
	for {
		for _, r := range s.takeRequests() {
			s.handleRequest(r)
		}
		now := time.Now()
		if !now.Before(s.refreshDue()) {
			if err := s.refresh(ctx); err != nil {
				return err
			}
		}
		if l.conn == nil && !now.Before(l.nextDial) {
			if err := s.connect(ctx); err != nil {
				return err
			}
		}
		s.flush()

		var frames <-chan connEvent
		if l.conn != nil {
			frames = l.conn.events
		}
		var out chan<- Event
		var next Event
		if len(l.outq) > 0 {
			out, next = s.events, l.outq[0]
		}
		timer := time.NewTimer(time.Until(s.nextWake(now)))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-s.wake:
		case out <- next:
			l.outq[0] = nil
			l.outq = l.outq[1:]
		case ce := <-frames:
			if err := s.handleFrame(ctx, ce); err != nil {
				timer.Stop()
				return err
			}
		case <-timer.C:
		}
		timer.Stop()
	}
}

// emit queues an event for Events.
func (s *Socket) emit(ev Event) { s.loop.outq = append(s.loop.outq, ev) }

// nextWake returns when the loop has something to do without an event.
func (s *Socket) nextWake(now time.Time) time.Time {
	l := &s.loop
	t := now.Add(maxWake)
	earlier := func(u time.Time) {
		if u.Before(t) {
			t = u
		}
	}
	earlier(s.refreshDue())
	if l.conn == nil {
		earlier(l.nextDial)
	}
	if l.holdUntil.After(now) {
		earlier(l.holdUntil)
	}
	for _, r := range l.rooms {
		if r.joined && r.readWant > r.readSent {
			earlier(r.readAt)
		}
	}
	return t
}

// refreshDue returns when the access token is to be refreshed.
func (s *Socket) refreshDue() time.Time {
	if !s.loop.refreshRetry.IsZero() {
		return s.loop.refreshRetry
	}
	return s.c.RefreshAt()
}

// refresh gets a new token pair; flush hands it to the open socket. Only
// the session's end is returned; other failures are retried.
func (s *Socket) refresh(ctx context.Context) error {
	err := s.c.Refresh(ctx)
	switch {
	case errors.Is(err, ErrSessionEnded):
		return err
	case err != nil && ctx.Err() == nil:
		s.loop.refreshRetry = time.Now().Add(refreshRetry)
		return nil
	}
	s.loop.refreshRetry = time.Time{}
	return nil
}

// connect opens a socket. A failure that a retry may fix schedules the
// next attempt and returns nil.
func (s *Socket) connect(ctx context.Context) error {
	l := &s.loop
	token, _ := s.c.accessToken()
	s.emit(&StateChange{State: Connecting})
	conn, err := dial(ctx, s.c.WebSocketURL(), token)
	if ctx.Err() != nil {
		return nil // the loop ends on ctx
	}
	if err == nil {
		l.conn, l.broken, l.authToken = conn, false, token
		s.resetSocketState()
		return nil
	}
	if ae, ok := asAPIError(err); ok {
		switch ae.Status {
		case http.StatusUnauthorized:
			// The handshake refused the token: ask the REST API, which
			// refreshes it when the server refuses it there too.
			if _, err := s.c.Me(ctx); errors.Is(err, ErrSessionEnded) {
				return err
			}
		case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound:
			return err
		}
	}
	l.attempts++
	d := backoff(l.attempts)
	l.nextDial = time.Now().Add(d)
	s.emit(&StateChange{State: Disconnected, Code: websocket.CloseAbnormalClosure, Err: err, Retry: d})
	return nil
}

// resetSocketState forgets what was sent on the previous socket.
func (s *Socket) resetSocketState() {
	l := &s.loop
	for _, r := range l.rooms {
		r.joinSent, r.joined, r.readSent = false, false, 0
	}
	for _, p := range l.pending {
		p.lost = p.lost || p.sent
		p.sent = false
	}
	clear(l.refs)
}

// disconnected handles the end of the socket by its close code: stop,
// refresh and reconnect, or reconnect after a pause.
func (s *Socket) disconnected(ctx context.Context, err error) error {
	l := &s.loop
	code, reason := closeCode(err)
	l.conn.abort()
	l.conn = nil
	s.resetSocketState()
	if reason == "" {
		reason = closeReason(code)
	}
	now := time.Now()
	switch code {
	case 4003:
		return ErrSessionRevoked
	case websocket.CloseNormalClosure, websocket.ClosePolicyViolation, websocket.CloseUnsupportedData,
		websocket.CloseInvalidFramePayloadData, websocket.CloseMessageTooBig:
		return &CloseError{Code: code, Reason: reason}
	case 4001:
		if err := s.refresh(ctx); err != nil {
			return err
		}
		l.nextDial = now
	case websocket.CloseGoingAway:
		l.attempts = 0
		l.nextDial = now.Add(mrand.N(goingAwaySpread))
	default: // 1006, 1011, 1013, 4008 and codes not in the contract
		l.attempts++
		l.nextDial = now.Add(backoff(l.attempts))
	}
	s.emit(&StateChange{State: Disconnected, Code: code, Reason: reason, Retry: max(l.nextDial.Sub(now), 0)})
	return nil
}

// closeReason names the close codes of the contract.
func closeReason(code int) string {
	switch code {
	case websocket.CloseNormalClosure:
		return "normal"
	case websocket.CloseAbnormalClosure:
		return "connection lost"
	case websocket.CloseGoingAway:
		return "going_away"
	case websocket.CloseUnsupportedData:
		return "binary_not_supported"
	case websocket.CloseInvalidFramePayloadData:
		return "invalid_utf8"
	case websocket.ClosePolicyViolation:
		return "policy_violation"
	case websocket.CloseMessageTooBig:
		return "message_too_large"
	case websocket.CloseInternalServerErr:
		return "internal"
	case websocket.CloseTryAgainLater:
		return "try_again_later"
	case 4001:
		return "token_expired"
	case 4003:
		return "session_revoked"
	case 4008:
		return "too_slow"
	}
	return "closed"
}
