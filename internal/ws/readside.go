package ws

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
)

// The read side of a socket comes in two forms.
//
// With ReadGoroutine, each socket has a reader goroutine (readLoop) parked
// in the WebSocket library until the peer sends something: simple, but an
// idle socket holds the goroutine and its stack (8 KiB once it has carried
// out a join).
//
// With ReadEpoll (Linux, plain TCP connections), an idle socket holds no
// goroutine. Its descriptor is registered with the handler's poller, one
// goroutine waiting on an epoll set, with EPOLLIN|EPOLLRDHUP|EPOLLONESHOT
// and the socket's id (never the descriptor's number) as the event's
// data. When the socket becomes readable, or hangs up, the poller starts
// a worker goroutine (serveReady) that reads and carries out what has
// arrived exactly as readLoop does, message by message, and answers pings
// and pongs itself (control.go). A message whose frames have not all
// arrived is waited for on Go's own network poller (msgTimeout bounds it
// from its first frame header on, as before). The library reads through
// ownReader's buffer: once it is empty the worker re-arms the descriptor
// and ends; bytes still in it are read first, as no event would announce
// them. A TLS connection or any other
// connection without a descriptor keeps the goroutine reader.
//
// # States
//
// readSide.state says who owns the read side of a socket:
//
//	stArmed   registered and armed in epoll; no goroutine reads it
//	stRunning a worker reads it and re-arms it when nothing is buffered
//	stEnding  a worker reads it until the read side ends, never re-arming
//
// armed → running: the poller, on an event (compare-and-swap, so an event
// for a socket not armed is ignored). running → armed: the worker, then it
// re-arms the descriptor. armed or running → ending: kick, once the socket
// is closing or closed (a close frame written, a write failed, a heartbeat
// timeout, a cut); from armed it also starts the worker. The one-shot
// event and these swaps keep a single worker per socket at a time, so a
// socket's frames are carried out in order. Re-arming runs inside
// RawConn.Control, which holds the descriptor open: a concurrent Close
// cannot let its number be reused under the EPOLL_CTL_MOD. When Control
// fails the connection is closed: the socket is kicked instead of
// re-armed.
//
// # Lock order and goroutines
//
// poller.mu guards the id → socket map and the stopped flag, tally.mu the
// count of goroutines; both are leaves: nothing is called with them held.
// The worker takes conn.mu through readOne exactly as readLoop does; the
// state swaps take no lock, and kick is never called with conn.mu held.
// epoll_ctl runs inside Control of both the socket and the epoll
// descriptor, so neither number can be reused under it. The poller
// goroutine is started with the first registered socket and owned by the
// handler:
// Server.Shutdown stops them and waits for them. Every reader goroutine
// and every worker is counted in readSides.active, and Shutdown also waits
// until that count is zero.
const (
	stArmed int32 = iota
	stRunning
	stEnding
)

// The values of Options.ReadMode.
const (
	ReadEpoll     = "epoll"     // no goroutine per idle socket (Linux; the default)
	ReadGoroutine = "goroutine" // one reader goroutine per socket
)

// readSide is a socket's registration with the poller; zero when its
// reader is a goroutine.
type readSide struct {
	p     *poller
	id    uint64
	raw   syscall.RawConn
	state atomic.Int32
}

// readSides runs the read side of every socket of a handler.
type readSides struct {
	epoll bool // ReadEpoll was asked for

	mu      sync.Mutex
	p       *poller // started with the first socket; nil while none was
	failed  bool    // the poller could not be started: goroutines only
	stopped bool

	closeOnce sync.Once
	active    tally // reader goroutines and workers running
}

// prepare registers a socket with the poller, not armed yet, when its read
// side can be a worker: a plain TCP connection read through ownReader's
// buffer, with ReadEpoll. It runs before the hub knows the socket, so that
// kick sees the registration from the socket's first close on.
func (rs *readSides) prepare(c *conn) {
	if c.br == nil || !rs.epoll {
		return
	}
	if p := rs.poller(c.h); p != nil {
		p.prepare(c)
	}
}

// forget undoes prepare for a socket the hub refused.
func (rs *readSides) forget(c *conn) {
	if c.rd.p != nil {
		c.rd.p.remove(c)
	}
}

// start starts the read side of a socket: armed in the poller when it was
// registered, else a reader goroutine. A socket that cannot be armed is
// kicked: a worker reads it to its end, as a reader goroutine would.
func (rs *readSides) start(c *conn) {
	if p := c.rd.p; p != nil {
		if !p.ctl(c, epollAdd) {
			c.kick()
		}
		return
	}
	rs.active.add()
	go func() {
		defer rs.active.done()
		c.readLoop()
	}()
}

// poller returns the running poller, starting it on first use; nil when
// the read side must be a goroutine.
func (rs *readSides) poller(h *handler) *poller {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.p != nil || rs.failed || rs.stopped {
		return rs.p
	}
	p, err := newPoller(h, &rs.active)
	if err != nil {
		rs.failed = true
		h.log.Warn("websocket poller unavailable; every socket keeps a reader goroutine", "err", err)
		return nil
	}
	rs.p = p
	return p
}

// shutdown stops the poller and waits until every read side has ended.
// Call it after the hub's Shutdown, which ends every socket: a socket still
// registered then gets a worker that reads it to its end. It may be called
// again, to wait longer.
func (rs *readSides) shutdown(ctx context.Context) error {
	rs.mu.Lock()
	first := !rs.stopped
	rs.stopped = true
	p := rs.p
	rs.mu.Unlock()
	if p != nil && first {
		for _, c := range p.stop() {
			c.kick()
		}
	}
	if err := rs.active.wait(ctx); err != nil {
		return err // the epoll instance stays open for the workers left
	}
	if p != nil {
		rs.closeOnce.Do(p.close)
	}
	return nil
}

// serveReady is a worker: it carries out what the socket has received,
// then re-arms it, or reads on to the end once the socket was kicked. It
// ends when the read side ends or the socket is re-armed.
func (c *conn) serveReady() {
	p := c.rd.p
	for {
		if c.rd.state.Load() == stEnding {
			for c.readOne() {
			}
			break
		}
		if !c.readReady() {
			break
		}
		if c.br.Buffered() > 0 {
			continue
		}
		if !c.rd.state.CompareAndSwap(stRunning, stArmed) {
			continue // kicked meanwhile
		}
		if !p.rearm(c) {
			c.kick()
		}
		p.active.done()
		return
	}
	p.remove(c)
	c.cleanup()
	p.active.done()
}

// readReady reads what the socket has for it: pings and pongs whole in
// the buffer are answered here, anything else goes through readOne. It
// reports false when the read side has ended.
func (c *conn) readReady() bool {
	if _, err := c.br.Peek(1); err != nil {
		return c.readOne() // the library meets the error and ends
	}
	if !c.controlFrames() || c.br.Buffered() > 0 {
		return c.readOne()
	}
	return true
}

// kick makes the socket's read side run to its end on a worker: the socket
// is closing, and its end must be read (the peer's close, an error, the
// close grace's deadline) even if no event comes. A goroutine reader
// needs no kick.
func (c *conn) kick() {
	rd := &c.rd
	if rd.p == nil {
		return
	}
	for {
		switch rd.state.Load() {
		case stArmed:
			if rd.state.CompareAndSwap(stArmed, stEnding) {
				rd.p.work(c)
				return
			}
		case stRunning:
			if rd.state.CompareAndSwap(stRunning, stEnding) {
				return
			}
		default:
			return
		}
	}
}

// tally counts goroutines and lets a shutdown wait for none. Unlike a
// WaitGroup, it may rise again from zero while someone waits.
type tally struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n falls to 0
}

func (t *tally) add() {
	t.mu.Lock()
	if t.n == 0 {
		t.zero = make(chan struct{})
	}
	t.n++
	t.mu.Unlock()
}

func (t *tally) done() {
	t.mu.Lock()
	if t.n--; t.n == 0 {
		close(t.zero)
	}
	t.mu.Unlock()
}

// wait returns once the count is zero, or ctx's error if it ends first.
func (t *tally) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	zero := t.zero
	t.mu.Unlock()
	select {
	case <-zero:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
