package ws

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// byteCounters are the wire-byte counters a connection reports to once it
// has been upgraded to a WebSocket.
type byteCounters struct {
	recv, sent prometheus.Counter
}

// countingConn sits under the WebSocket library: it counts the bytes on the
// wire once counters are attached, and lets the writer coalesce the frames
// of one queue drain into a single write.
type countingConn struct {
	net.Conn
	counters atomic.Pointer[byteCounters]

	mu       sync.Mutex
	batching bool
	buf      *[]byte

	wdeadline atomic.Int64 // write deadline in force, unix nanoseconds; 0 none
}

// deadlineSlack is how much later than the write deadline in force a new
// one may be and still not be applied. The WebSocket library sets a write
// deadline before every frame; moving it is timer work in the runtime, and
// at one frame per delivery that was about 5 % of the server's CPU in
// fan-out. A write's deadline is thus at most this much earlier than asked.
const deadlineSlack = time.Second

// SetWriteDeadline applies t unless it is no more than deadlineSlack after
// the deadline in force. An earlier deadline, or none, always applies.
func (c *countingConn) SetWriteDeadline(t time.Time) error {
	n := int64(0)
	if !t.IsZero() {
		n = t.UnixNano()
		if cur := c.wdeadline.Load(); cur != 0 && n >= cur && n-cur <= int64(deadlineSlack) {
			return nil
		}
	}
	c.wdeadline.Store(n)
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines, keeping the write deadline in force
// known.
func (c *countingConn) SetDeadline(t time.Time) error {
	if t.IsZero() {
		c.wdeadline.Store(0)
	} else {
		c.wdeadline.Store(t.UnixNano())
	}
	return c.Conn.SetDeadline(t)
}

// writeBufPool holds the coalescing buffers; a buffer is held only while a
// writer drains its queue.
var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8192); return &b }}

// maxCoalesce is the size past which a coalescing buffer is flushed early.
const maxCoalesce = 64 << 10

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		if k := c.counters.Load(); k != nil {
			k.recv.Add(float64(n))
		}
	}
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.batching {
		b := append(*c.buf, p...)
		*c.buf = b
		var err error
		if len(b) >= maxCoalesce {
			err = c.flushLocked()
		}
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	c.mu.Unlock()
	return c.write(p)
}

func (c *countingConn) write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		if k := c.counters.Load(); k != nil {
			k.sent.Add(float64(n))
		}
	}
	return n, err
}

// beginBatch makes later writes accumulate until endBatch.
func (c *countingConn) beginBatch() {
	c.mu.Lock()
	c.batching = true
	c.buf = writeBufPool.Get().(*[]byte)
	c.mu.Unlock()
}

// endBatch writes what accumulated since beginBatch in one call.
func (c *countingConn) endBatch() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.flushLocked()
	c.batching = false
	if cap(*c.buf) <= maxCoalesce*2 {
		*c.buf = (*c.buf)[:0]
		writeBufPool.Put(c.buf)
	}
	c.buf = nil
	return err
}

func (c *countingConn) flushLocked() error {
	b := *c.buf
	if len(b) == 0 {
		return nil
	}
	_, err := c.write(b)
	*c.buf = b[:0]
	return err
}

// CloseWrite half-closes the connection when the transport allows it.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tcpConn returns the TCP connection under nc, or nil when there is none.
func tcpConn(nc net.Conn) *net.TCPConn {
	if cc, ok := nc.(*countingConn); ok {
		nc = cc.Conn
	}
	tc, _ := nc.(*net.TCPConn)
	return tc
}

// Listener wraps l so that the connections it accepts can report their wire
// bytes after a WebSocket upgrade. The service's HTTP server must accept on
// it for the wire-byte metrics and write coalescing to work; without it the
// hub still works.
func Listener(l net.Listener) net.Listener { return countingListener{l} }

type countingListener struct{ net.Listener }

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c}, nil
}
