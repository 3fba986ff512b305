package ws

import (
	"errors"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/chatsvc/chat/internal/hub"
	"github.com/gorilla/websocket"
)

// prepare turns a broadcast payload into a message prepared once for
// every socket whatever its compression; nil when it cannot be.
func prepare(b []byte) any {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		return nil
	}
	return pm
}

// Queued reports how many frames wait in the queue (not those being
// written), 0 once the socket is closing.
func (c *conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return 0
	}
	return len(c.queue)
}

// writeLoop drains the queue and the pending pong, coalescing each drain
// into one write, and exits when both are empty.
func (c *conn) writeLoop() {
	for {
		if d := c.h.opt.WriteDelay; d > 0 {
			c.gather(d)
		}
		c.mu.Lock()
		if len(c.queue) == 0 && !c.pongDue {
			c.writing = false
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.queue, c.spare = c.spare[:0], nil
		var pong []byte
		if c.pongDue {
			pong = c.pong
			if pong == nil {
				pong = []byte{}
			}
		}
		c.pong, c.pongDue = nil, false
		c.cond.Broadcast()
		c.mu.Unlock()

		closed, err := c.writeBatch(pong, batch)
		c.lastWrite = time.Now().UnixNano()
		clear(batch)
		c.mu.Lock()
		if c.spare == nil {
			c.spare = batch[:0]
		}
		c.mu.Unlock()
		if err != nil {
			c.writeFailed(err)
			return
		}
		if closed {
			// Half-close and give the peer a moment to answer; the read
			// side, kicked to read on to its end, ends the connection when
			// the answer or the deadline comes.
			if c.cc != nil {
				_ = c.cc.CloseWrite()
			}
			_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(closeGrace))
			c.mu.Lock()
			c.writing = false
			c.queue = nil
			c.cond.Broadcast()
			c.mu.Unlock()
			c.kick()
			return
		}
	}
}

// gather waits, before a write, until delay has passed since the socket's
// previous write, so that frames arriving faster than that leave in one
// write (one system call, one wake-up of the peer). It does not wait when
// the previous write is older than delay, nor for a close, a ping or a
// pong, nor once the queue is half full.
func (c *conn) gather(delay time.Duration) {
	wait := time.Until(time.Unix(0, c.lastWrite).Add(delay))
	if wait <= 0 {
		return
	}
	c.mu.Lock()
	// An empty queue: the writer is about to stop.
	urgent := len(c.queue) == 0 || c.closing || c.pongDue || len(c.queue) >= c.h.queue/2 || slices.ContainsFunc(c.queue, isControl)
	c.mu.Unlock()
	if !urgent {
		time.Sleep(wait)
	}
}

// isControl reports whether f is a control frame.
func isControl(f outFrame) bool { return f.control != 0 }

// writeFailed ends the socket after a failed write. A write that timed
// out means the peer has read nothing for WriteTimeout while the kernel's
// buffers are full: it is a slow consumer, closed with 4008 (the close
// frame cannot follow a frame cut short; the code is what the server
// records).
func (c *conn) writeFailed(err error) {
	c.logger().Debug("websocket write failed", "err", err)
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && c.cl != nil {
		c.cl.TooSlow()
	}
	c.mu.Lock()
	c.writing = false
	c.queue = nil
	c.pong, c.pongDue = nil, false
	c.endLocked()
	c.mu.Unlock()
	_ = c.ws.NetConn().Close()
	c.kick()
}

// writeBatch writes one drain of the queue in one write to the network,
// after the pending pong when pong is not nil and up to the close frame,
// and reports whether the close frame was written.
func (c *conn) writeBatch(pong []byte, batch []outFrame) (closed bool, err error) {
	if c.cc != nil {
		c.cc.beginBatch()
	}
	deadline := time.Now().Add(c.h.opt.WriteTimeout)
	_ = c.ws.SetWriteDeadline(deadline)
	if pong != nil {
		err = c.ws.WriteControl(websocket.PongMessage, pong, deadline)
	}
	for i := 0; i < len(batch) && err == nil; i++ {
		f := &batch[i]
		switch f.control {
		case 0:
			err = c.writeFrame(f.Frame)
		case websocket.CloseMessage:
			err = c.ws.WriteControl(websocket.CloseMessage, f.ctl, deadline)
			closed = true
		default:
			err = c.ws.WriteControl(f.control, f.ctl, deadline)
		}
		if err != nil || closed {
			break
		}
	}
	if c.cc != nil {
		if ferr := c.cc.endBatch(); err == nil {
			err = ferr
		}
	}
	return closed, err
}

// writeFrame writes one frame of the hub and counts it.
func (c *conn) writeFrame(f hub.Frame) error {
	m := c.h.m
	b := f.Bytes()
	var err error
	// The setting is per write. A prepared frame is compressed once for
	// all its readers, so it pays from a small size; a frame for this
	// socket alone (an ack, an error) only when it is large.
	if f.Shared != nil {
		c.ws.EnableWriteCompression(len(b) >= compressMin)
		if pm, ok := f.Shared.Prepared(prepare).(*websocket.PreparedMessage); ok {
			err = c.ws.WritePreparedMessage(pm)
		} else {
			err = c.ws.WriteMessage(websocket.TextMessage, b)
		}
	} else {
		c.ws.EnableWriteCompression(len(b) >= compressOwnMin)
		err = c.ws.WriteMessage(websocket.TextMessage, b)
	}
	if err != nil {
		return err
	}
	m.WSFramesSent.Inc()
	m.WSPayloadBytesSent.Add(float64(len(b)))
	if f.Kind == hub.KindMessage {
		m.MessagesDelivered.Inc()
		if f.TS != 0 {
			m.DeliverySeconds.Observe(float64(time.Now().UnixNano()-f.TS) / 1e9)
		}
	}
	return nil
}

// logger returns the logger of the socket, with its attributes once the
// hub has its side of it.
func (c *conn) logger() *slog.Logger {
	if c.cl == nil {
		return c.h.log
	}
	return c.cl.Logger()
}
