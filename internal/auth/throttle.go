package auth

import (
	"context"
	"sync"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Rate is the limit of a Throttle: at most N events per key in a window of
// Per. It is chat.Rate, parsed by chat.ParseRate; the zero Rate is off.
type Rate = chat.Rate

// Throttle counts events per key (a client IP, or a username and IP) over a
// window. Implementations are safe for concurrent use; a shared one (Redis)
// makes a limit hold across nodes.
type Throttle interface {
	// Blocked reports, without recording anything, how long key must wait
	// because it already used up its limit; 0 when it may go on.
	Blocked(ctx context.Context, key string) (retryAfter time.Duration, err error)
	// Hit records one event for key and returns how long key must wait when
	// this event put it over its limit; 0 when it did not.
	Hit(ctx context.Context, key string) (retryAfter time.Duration, err error)
	// Reset forgets every event recorded for key.
	Reset(ctx context.Context, key string) error
}

// maxMemThrottleKeys bounds the keys a MemThrottle tracks. Past it, after
// the expired windows are swept, a random window is dropped for each new
// key: under such a flood the limit gets looser but memory stays bounded.
const maxMemThrottleKeys = 1 << 20

// MemThrottle is an in-process Throttle with a fixed window per key: the
// window opens at the key's first event and lasts Rate.Per; the (N+1)th
// event inside it is over the limit, and the key waits until the window
// closes. Expired windows are swept as time passes. A MemThrottle with a
// Rate that is off never blocks and stores nothing.
type MemThrottle struct {
	rate Rate
	now  func() time.Time

	mu        sync.Mutex
	windows   map[string]window
	nextSweep time.Time
}

type window struct {
	end   time.Time
	count int
}

var _ Throttle = (*MemThrottle)(nil)

// NewMemThrottle returns a MemThrottle limiting each key to r; now is the
// clock (time.Now when nil).
func NewMemThrottle(r Rate, now func() time.Time) *MemThrottle {
	if now == nil {
		now = time.Now
	}
	return &MemThrottle{rate: r, now: now, windows: make(map[string]window)}
}

// Blocked implements Throttle.
func (m *MemThrottle) Blocked(_ context.Context, key string) (time.Duration, error) {
	if m.rate.Off() {
		return 0, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.windows[key]
	if !ok || !now.Before(w.end) || w.count < m.rate.N {
		return 0, nil
	}
	return w.end.Sub(now), nil
}

// Hit implements Throttle.
func (m *MemThrottle) Hit(_ context.Context, key string) (time.Duration, error) {
	if m.rate.Off() {
		return 0, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	w, ok := m.windows[key]
	if !ok || !now.Before(w.end) {
		if !ok && len(m.windows) >= maxMemThrottleKeys {
			m.evictOne()
		}
		w = window{end: now.Add(m.rate.Per)}
	}
	w.count++
	m.windows[key] = w
	if w.count > m.rate.N {
		return w.end.Sub(now), nil
	}
	return 0, nil
}

// Reset implements Throttle.
func (m *MemThrottle) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.windows, key)
	m.mu.Unlock()
	return nil
}

// Len returns the number of keys with a window, expired or not.
func (m *MemThrottle) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.windows)
}

// sweep drops the expired windows, at most once per window length.
func (m *MemThrottle) sweep(now time.Time) {
	if now.Before(m.nextSweep) {
		return
	}
	m.nextSweep = now.Add(m.rate.Per)
	for k, w := range m.windows {
		if !now.Before(w.end) {
			delete(m.windows, k)
		}
	}
}

// evictOne drops one window, chosen by map iteration order.
func (m *MemThrottle) evictOne() {
	for k := range m.windows {
		delete(m.windows, k)
		return
	}
}

// fallbackThrottle answers from primary, or from fallback while primary
// fails.
type fallbackThrottle struct {
	primary, fallback Throttle
	onError           func(error)
}

// NewFallbackThrottle returns a Throttle that uses primary (the shared one,
// in Redis) and, for each call where primary fails, calls onError with the
// error and answers from fallback (an in-process MemThrottle) instead. A
// Redis outage thus loosens a limit from all nodes to each node rather than
// failing logins. onError is called on every failed call, concurrently; the
// caller counts it and decides how often to log. A call whose ctx is already
// done returns primary's error as it is, without fallback or onError: the
// request is over and the shared store is not to blame. Reset clears the key
// in both, so counts taken during an outage do not linger into the next one.
func NewFallbackThrottle(primary, fallback Throttle, onError func(error)) Throttle {
	if onError == nil {
		onError = func(error) {}
	}
	return &fallbackThrottle{primary: primary, fallback: fallback, onError: onError}
}

// failedOver reports whether the call should be answered by the fallback,
// calling onError when it should.
func (f *fallbackThrottle) failedOver(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	f.onError(err)
	return true
}

// Blocked implements Throttle.
func (f *fallbackThrottle) Blocked(ctx context.Context, key string) (time.Duration, error) {
	d, err := f.primary.Blocked(ctx, key)
	if f.failedOver(ctx, err) {
		return f.fallback.Blocked(ctx, key)
	}
	return d, err
}

// Hit implements Throttle.
func (f *fallbackThrottle) Hit(ctx context.Context, key string) (time.Duration, error) {
	d, err := f.primary.Hit(ctx, key)
	if f.failedOver(ctx, err) {
		return f.fallback.Hit(ctx, key)
	}
	return d, err
}

// Reset implements Throttle.
func (f *fallbackThrottle) Reset(ctx context.Context, key string) error {
	ferr := f.fallback.Reset(ctx, key)
	err := f.primary.Reset(ctx, key)
	if f.failedOver(ctx, err) {
		return ferr
	}
	return err
}
