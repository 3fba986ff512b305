package ws

import (
	"bufio"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
	"github.com/gorilla/websocket"
)

// outFrame is one entry of a socket's outgoing queue: a frame of the hub,
// or a control frame (ping, pong, close) of the transport.
type outFrame struct {
	hub.Frame
	control int    // the control message type; 0 for a hub frame
	ctl     []byte // the control message's data
}

// conn is one WebSocket connection and the hub's Socket for it. Its read
// side (readside.go) hands every frame to the hub; a writer goroutine
// exists only while the queue is not empty, so an idle socket costs no
// goroutine when its read side is on the poller, one otherwise.
type conn struct {
	h  *handler
	cl *hub.Client
	ws *websocket.Conn
	cc *countingConn // nil when the listener does not count
	br *bufio.Reader // the library's read buffer; nil when it has its own
	rd readSide      // the socket's registration with the poller, if any

	mu        sync.Mutex
	cond      *sync.Cond // broadcast when the writer takes frames off the queue or stops, and on closing
	queue     []outFrame
	spare     []outFrame
	writing   bool
	closing   bool           // a close frame is queued or the socket is gone; set by endLocked only
	busy      bool           // the reader is carrying out a frame
	pendClose chat.CloseCode // close to send when the current frame is done
	sent      chat.CloseCode // the close code sent, for metrics and logs
	received  int            // the close code received, 0 if none
	timedOut  bool
	// pong is the data of the one pong not yet written, when pongDue: a
	// newer ping replaces it, so a ping flood queues one pong, not many.
	pong    []byte
	pongDue bool

	// lastWrite is when the writer last wrote, unix nanoseconds; only the
	// writer goroutine, one at a time (handed over under mu), uses it.
	lastWrite int64

	msgTimer *time.Timer // bounds the time to receive one message; the reader's
}

var _ hub.Socket = (*conn)(nil)

// endLocked marks the socket closing, the one place that does, and wakes
// every wait on its queue.
func (c *conn) endLocked() {
	c.closing = true
	c.cond.Broadcast()
}

// Deliver queues f without blocking. A full queue refuses a volatile frame
// past half its size and anything else past its size, after emptying the
// queue: the hub then closes the socket with 4008.
func (c *conn) Deliver(f hub.Frame) bool { return c.enqueue(outFrame{Frame: f}) }

// enqueue adds f to the outgoing queue without blocking and reports
// whether there was room for it. A control frame always has room.
func (c *conn) enqueue(f outFrame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return true
	}
	limit := c.h.queue
	if f.control == 0 && f.Kind == hub.KindVolatile && len(c.queue) >= limit/2 {
		return false
	}
	if len(c.queue) >= limit && f.control == 0 {
		c.queue = c.queue[:0]
		return false
	}
	c.queue = append(c.queue, f)
	c.startWriterLocked()
	return true
}

// queuePong queues the answer to a ping with data. A pong not yet written
// takes the newer data instead: at most one pong is ever pending.
func (c *conn) queuePong(data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.pong, c.pongDue = data, true
	c.startWriterLocked()
}

// errClosed reports a frame not queued because the socket is closing.
var errClosed = errors.New("ws: socket closing")

// DeliverWait adds f to the queue, waiting while the queue is full instead
// of refusing it: replays are written with back-pressure.
func (c *conn) DeliverWait(ctx context.Context, f hub.Frame) error {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) >= c.h.queue && !c.closing && ctx.Err() == nil {
		c.cond.Wait()
	}
	if c.closing {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.queue = append(c.queue, outFrame{Frame: f})
	c.startWriterLocked()
	return nil
}

func (c *conn) startWriterLocked() {
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
}

// Ping queues a heartbeat ping.
func (c *conn) Ping() { c.enqueue(outFrame{control: websocket.PingMessage}) }

// Close queues the close frame cc after what is already queued (for a
// slow consumer the queue was emptied first). When the reader is carrying
// out a frame, a 1001 waits until it is done, so an accepted send is
// acknowledged before the socket closes.
//
// It reports whether this call closed the socket (or scheduled its close).
func (c *conn) Close(cc chat.CloseCode) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	if c.busy && cc == chat.CloseGoingAway {
		if c.pendClose.Code != 0 {
			return false
		}
		c.pendClose = cc
		return true
	}
	c.closeLocked(cc)
	return true
}

func (c *conn) closeLocked(cc chat.CloseCode) {
	c.sent = cc
	c.queue = append(c.queue, outFrame{control: websocket.CloseMessage, ctl: websocket.FormatCloseMessage(cc.Code, cc.Reason)})
	c.startWriterLocked()
	c.endLocked()
}

// TimedOut ends a socket from which nothing arrived in time. No close
// frame is sent: the peer is presumed gone.
func (c *conn) TimedOut() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.timedOut = true
	c.sent = chat.CloseAbnormal
	c.endLocked()
	c.mu.Unlock()
	c.h.m.WSHeartbeatTimeouts.Inc()
	_ = c.ws.NetConn().Close()
	c.kick()
}

// Cut ends the socket at once: the reader's next read fails.
func (c *conn) Cut() {
	_ = c.ws.NetConn().Close()
	c.kick()
}

// cleanup forgets the socket: it works out how the socket ended and hands
// it to the hub, which leaves its rooms and records the end.
func (c *conn) cleanup() {
	if c.msgTimer != nil {
		c.msgTimer.Stop()
	}
	c.mu.Lock()
	c.queue = nil
	c.pong, c.pongDue = nil, false
	c.endLocked()
	sent, received, timedOut := c.sent, c.received, c.timedOut
	c.mu.Unlock()
	_ = c.ws.NetConn().Close()

	code, reason, by := sent.Code, sent.Reason, "server"
	if code == 0 && received != 0 {
		code, by = received, "client"
	}
	if code == 0 {
		code = websocket.CloseAbnormalClosure
		by = "client"
	}
	if timedOut {
		reason = "heartbeat_timeout"
	}
	if reason == "" || by == "client" {
		reason = chat.CloseReason(code)
	}
	c.h.hub.Detach(c.cl, hub.End{Code: code, Reason: reason, By: by})
}
