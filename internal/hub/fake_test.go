package hub

import (
	"context"
	"errors"
	"sync"

	"github.com/chatsvc/chat/internal/chat"
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
