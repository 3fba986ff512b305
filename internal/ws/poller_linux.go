//go:build linux

package ws

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// armEvents are the events a socket is armed for: readable, or the peer
// hung up (EPOLLHUP and EPOLLERR are always reported), once.
const armEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// wakeID is the event data of the poller's own eventfd; sockets' ids
// start at 1.
const wakeID = 0

// poller is one epoll instance and the goroutine waiting on it (see
// readside.go for the states of a socket and the lock order).
//
// The goroutine does not block in epoll_wait, which would hold an OS
// thread in the system call and make every wake-up a hand-off between
// threads: the epoll descriptor is itself pollable (readable while events
// are pending), so it is put in Go's own network poller, and the goroutine
// parks there like any socket read, polling the set with a zero timeout
// when woken.
type poller struct {
	h      *handler
	active *tally
	epfd   int
	file   *os.File        // epfd, in Go's network poller
	raw    syscall.RawConn // file's
	wakefd int             // an eventfd: written to stop the goroutine
	done   chan struct{}

	mu      sync.Mutex
	conns   map[uint64]*conn
	stopped bool
}

func newPoller(h *handler, active *tally) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setID(&ev, wakeID)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wakefd)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	p := &poller{h: h, active: active, epfd: epfd, wakefd: wakefd, done: make(chan struct{}), conns: make(map[uint64]*conn)}
	if unix.SetNonblock(epfd, true) == nil {
		p.file = os.NewFile(uintptr(epfd), "epoll")
		p.raw, _ = p.file.SyscallConn()
	}
	go p.run()
	return p, nil
}

// nextID numbers the sockets of every poller.
var nextID atomic.Uint64

// setID and eventID carry a socket's 64-bit id in the event's data.
func setID(ev *unix.EpollEvent, id uint64) {
	ev.Fd, ev.Pad = int32(uint32(id)), int32(uint32(id>>32))
}

func eventID(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// epollAdd is the operation that first arms a socket.
const epollAdd = unix.EPOLL_CTL_ADD

// prepare gives c an id and its place in the map, armed but not yet added
// to the epoll set; start adds it. It leaves c alone when it has no
// descriptor or the poller has stopped.
func (p *poller) prepare(c *conn) {
	tc := tcpConn(c.ws.NetConn())
	if tc == nil {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	c.rd.p, c.rd.id, c.rd.raw = p, nextID.Add(1), raw
	c.rd.state.Store(stArmed)
	p.conns[c.rd.id] = c
}

// rearm arms c's descriptor again. It reports false when that failed (the
// connection is closed) or the poller has stopped.
func (p *poller) rearm(c *conn) bool {
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	return !stopped && p.ctl(c, unix.EPOLL_CTL_MOD)
}

// ctl applies op to c's descriptor with c's id, inside Control: the
// descriptor stays open, and its number c's, until Control returns; so
// does the epoll descriptor.
func (p *poller) ctl(c *conn, op int) bool {
	ev := unix.EpollEvent{Events: armEvents}
	setID(&ev, c.rd.id)
	var cerr error
	err := c.rd.raw.Control(func(fd uintptr) {
		cerr = p.epollCtl(op, int(fd), &ev)
	})
	return err == nil && cerr == nil
}

// epollCtl runs epoll_ctl on the epoll descriptor, held open meanwhile.
func (p *poller) epollCtl(op, fd int, ev *unix.EpollEvent) error {
	if p.raw == nil {
		return unix.EpollCtl(p.epfd, op, fd, ev)
	}
	var cerr error
	if err := p.raw.Control(func(ep uintptr) { cerr = unix.EpollCtl(int(ep), op, fd, ev) }); err != nil {
		return err
	}
	return cerr
}

// remove forgets c once its read side has ended, taking its descriptor
// out of the epoll set while it is still open.
func (p *poller) remove(c *conn) {
	_ = c.rd.raw.Control(func(fd uintptr) {
		_ = p.epollCtl(unix.EPOLL_CTL_DEL, int(fd), nil)
	})
	p.mu.Lock()
	delete(p.conns, c.rd.id)
	p.mu.Unlock()
}

// work starts a worker for c.
func (p *poller) work(c *conn) {
	p.active.add()
	go c.serveReady()
}

// run waits for events and starts a worker for each socket that became
// readable, until stop.
func (p *poller) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	var n int
	var err error
	poll := func(fd uintptr) bool {
		n, err = unix.EpollWait(int(fd), events, 0)
		return n > 0 || (err != nil && err != unix.EINTR)
	}
	for {
		if p.raw == nil || p.raw.Read(poll) != nil {
			// Not in Go's network poller: block in the system call.
			n, err = unix.EpollWait(p.epfd, events, -1)
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			p.h.log.Error("websocket poller stopped", "err", err)
			return
		}
		if !p.dispatch(events[:n]) {
			return
		}
	}
}

// dispatch starts a worker for each socket of events that was armed. It
// reports false when the events ask the poller to stop.
func (p *poller) dispatch(events []unix.EpollEvent) bool {
	for i := range events {
		id := eventID(&events[i])
		if id == wakeID {
			return false
		}
		p.mu.Lock()
		c := p.conns[id]
		p.mu.Unlock()
		if c != nil && c.rd.state.CompareAndSwap(stArmed, stRunning) {
			p.work(c)
		}
	}
	return true
}

// stop ends the poller's goroutine and returns the sockets still
// registered, which no event will reach any more: the caller kicks them.
// A worker that re-arms after stop kicks its socket itself.
func (p *poller) stop() []*conn {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	var one = [8]byte{1}
	_, _ = unix.Write(p.wakefd, one[:])
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	left := make([]*conn, 0, len(p.conns))
	for _, c := range p.conns {
		left = append(left, c)
	}
	return left
}

// close releases the epoll instance once no worker is left to use it.
func (p *poller) close() {
	if p.file != nil {
		_ = p.file.Close()
	} else {
		_ = unix.Close(p.epfd)
	}
	_ = unix.Close(p.wakefd)
}
