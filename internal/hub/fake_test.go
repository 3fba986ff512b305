package hub

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

// fakeSocket is a Socket with a bounded queue that the test reads instead
// of a network: the transport is the seam.
type fakeSocket struct {
	mu     sync.Mutex
	cond   *sync.Cond
	limit  int
	queue  []Frame
	closed chat.CloseCode
	pings  int
}

func newFakeSocket(limit int) *fakeSocket {
	s := &fakeSocket{limit: limit}
	s.cond = sync.NewCond(&s.mu)
	return s
}

var errFakeClosed = errors.New("fake socket closed")

func (s *fakeSocket) Deliver(f Frame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Code != 0 {
		return true
	}
	if f.Kind == KindVolatile && len(s.queue) >= s.limit/2 {
		return false
	}
	if len(s.queue) >= s.limit {
		s.queue = s.queue[:0]
		return false
	}
	s.queue = append(s.queue, f)
	s.cond.Broadcast()
	return true
}

func (s *fakeSocket) DeliverWait(ctx context.Context, f Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) >= s.limit && s.closed.Code == 0 {
		s.cond.Wait()
	}
	if s.closed.Code != 0 {
		return errFakeClosed
	}
	s.queue = append(s.queue, f)
	s.cond.Broadcast()
	return nil
}

func (s *fakeSocket) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Code != 0 {
		return 0
	}
	return len(s.queue)
}

func (s *fakeSocket) Close(cc chat.CloseCode) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Code != 0 {
		return false
	}
	s.closed = cc
	s.cond.Broadcast()
	return true
}

func (s *fakeSocket) Ping()     { s.mu.Lock(); s.pings++; s.mu.Unlock() }
func (s *fakeSocket) TimedOut() { s.Close(chat.CloseAbnormal) }
func (s *fakeSocket) Cut()      { s.Close(chat.CloseAbnormal) }

// take empties the queue and returns the decoded frames.
func (s *fakeSocket) take(t testing.TB) []map[string]any {
	t.Helper()
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	s.cond.Broadcast()
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(q))
	for _, f := range q {
		var v map[string]any
		if err := json.Unmarshal(f.Bytes(), &v); err != nil {
			t.Fatalf("decode %q: %v", f.Bytes(), err)
		}
		out = append(out, v)
	}
	return out
}

func (s *fakeSocket) closeCode() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed.Code
}

// fakeClient is a socket attached to a hub, driven as a transport would:
// frames go in through Handle, come out of the fake socket's queue.
type fakeClient struct {
	h    *Hub
	sock *fakeSocket
	c    *Client

	detached bool
}

// attach opens a socket of user on h with a queue of limit frames.
func attach(t testing.TB, h *Hub, user string, limit int) *fakeClient {
	t.Helper()
	return attachUntil(t, h, user, limit, time.Time{})
}

// attachLive is attach with a token that outlives the test, for tests
// that run past the sweeper's first look at token expiry.
func attachLive(t testing.TB, h *Hub, user string, limit int) *fakeClient {
	t.Helper()
	return attachUntil(t, h, user, limit, time.Now().Add(time.Hour))
}

// attachUntil is attach with a token that expires at exp (never when zero).
func attachUntil(t testing.TB, h *Hub, user string, limit int, exp time.Time) *fakeClient {
	t.Helper()
	s := newFakeSocket(limit)
	claims := auth.Claims{UserID: userID(t, h, user), Username: user, SessionID: "s-" + user, ExpiresAt: exp}
	c := h.NewClient(s, claims, false)
	if !h.Attach(c) {
		t.Fatal("attach refused")
	}
	f := &fakeClient{h: h, sock: s, c: c}
	t.Cleanup(f.detach)
	return f
}

// do hands the frame v to the hub as the socket's reader would, and waits
// until it is answered (for a send, its transaction committed and the ack
// is queued), as a client waiting for the answer would.
func (f *fakeClient) do(t testing.TB, v any) {
	t.Helper()
	f.doAsync(t, v)
	f.c.settleSends()
}

// doAsync hands the frame v to the hub as the socket's reader would, and
// returns when the reader could take the next frame.
func (f *fakeClient) doAsync(t testing.TB, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	f.h.Handle(f.c, b)
}

// joinAndDrain has f join room and drops the frames it got so far, and
// returns f.
func (f *fakeClient) joinAndDrain(t testing.TB, room string) *fakeClient {
	t.Helper()
	f.do(t, join(room, -1))
	f.sock.take(t)
	return f
}

// detach ends the socket as the transport does after its reader stops.
func (f *fakeClient) detach() {
	if f.detached {
		return
	}
	f.detached = true
	f.sock.Close(chat.CloseNormal)
	f.h.Detach(f.c, End{Code: chat.CloseNormal.Code, By: "client"})
}

// userID returns the id of user in the hub's store, creating the user on
// first use.
func userID(t testing.TB, h *Hub, name string) string {
	t.Helper()
	db, ok := h.opt.Store.(*store.DB)
	if w, wraps := h.opt.Store.(interface{ db() *store.DB }); wraps {
		db, ok = w.db(), true
	}
	if !ok {
		return "id-" + name
	}
	ctx := context.Background()
	u, _, err := db.UserByName(ctx, name)
	if err != nil {
		if u, err = db.CreateUser(ctx, name, "x"); err != nil {
			t.Fatal(err)
		}
	}
	return u.ID
}
