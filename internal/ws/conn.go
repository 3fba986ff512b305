package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Frame kinds in a socket's outgoing queue.
const (
	kindData     uint8 = iota // a unicast frame: ack, joined, error, …
	kindMessage               // a chat message (counts as a delivery)
	kindVolatile              // presence or typing: dropped first, never 4008
	kindControl               // ping or pong
	kindClose                 // the close frame; the last thing written
)

// outFrame is one entry of a socket's outgoing queue.
type outFrame struct {
	pm      *websocket.PreparedMessage // shared broadcast frame
	data    []byte                     // unicast payload or control data
	size    int                        // payload size before compression
	kind    uint8
	control int   // control message type for kindControl
	ts      int64 // commit time in unix nanoseconds of a live kindMessage; 0 for a replayed one
}

// conn is one WebSocket connection. The reader goroutine runs readLoop and
// owns the room memberships; a writer goroutine exists only while the queue
// is not empty, so an idle socket costs one goroutine.
type conn struct {
	hub       *Hub
	ws        *websocket.Conn
	cc        *countingConn // nil when the listener does not count
	id        uint64
	userID    string
	username  string
	sessionID string
	limiter   *rate.Limiter
	shared    bool // counted by the shared ConnLimiter

	lastRead atomic.Int64 // unix nanoseconds of the last frame or pong
	lastPing atomic.Int64
	expires  atomic.Int64 // unix nanoseconds after which the socket closes with 4001

	mu        sync.Mutex
	cond      *sync.Cond // broadcast when the writer takes frames off the queue or stops, and on closing
	queue     []outFrame
	spare     []outFrame
	writing   bool
	closing   bool           // a close frame is queued or the socket is gone
	busy      bool           // the reader is carrying out a frame
	pendClose chat.CloseCode // close to send when the current frame is done
	sent      chat.CloseCode // the close code sent, for metrics and logs
	received  int            // the close code received, 0 if none
	timedOut  bool

	rooms map[string]*member // owned by the reader goroutine
}

// enqueue adds f to the outgoing queue without blocking. A full queue drops
// a volatile frame and closes the socket with 4008 for anything else.
func (c *conn) enqueue(f outFrame) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	limit := c.hub.opt.SendQueue
	if f.kind == kindVolatile && len(c.queue) >= limit/2 {
		c.mu.Unlock()
		c.dropVolatile()
		return
	}
	if len(c.queue) >= limit && f.kind != kindControl {
		c.queue = c.queue[:0]
		c.mu.Unlock()
		c.tooSlow()
		return
	}
	c.queue = append(c.queue, f)
	c.startWriterLocked()
	c.mu.Unlock()
}

// enqueueWait adds f to the queue, waiting while the queue is full instead
// of closing the socket: replays are written with back-pressure.
func (c *conn) enqueueWait(f outFrame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) >= c.hub.opt.SendQueue && !c.closing {
		c.cond.Wait()
	}
	if c.closing {
		return false
	}
	c.queue = append(c.queue, f)
	c.startWriterLocked()
	return true
}

func (c *conn) startWriterLocked() {
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
}

// sendJSON queues a unicast frame.
// logger returns the hub's logger with this socket's attributes. It is
// built when something is logged, not kept: most sockets never log, and a
// kept logger would cost every idle socket its formatted attributes.
func (c *conn) logger() *slog.Logger {
	return c.hub.log.With("conn_id", strconv.FormatUint(c.id, 10), "user_id", c.userID)
}

func (c *conn) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.logger().Error("encode frame", "err", err)
		return
	}
	c.enqueue(outFrame{data: b, size: len(b), kind: kindData})
}

func (c *conn) sendError(code, msg, ref, room string) {
	c.sendJSON(chat.ErrorFrame{Type: chat.TypeError, Code: code, Message: msg, Ref: ref, Room: room})
}

func (c *conn) enqueueControl(typ int, data []byte) {
	c.enqueue(outFrame{kind: kindControl, control: typ, data: data})
}

// dropVolatile counts a presence or typing frame not queued for this
// socket: the one place such a drop is counted.
func (c *conn) dropVolatile() { c.hub.m.WSFramesDroppedVolatile.Inc() }

// tooSlow closes the socket with 4008 because it cannot keep up, and counts
// it: the one place a slow consumer is counted, whether its queue or its
// held-back live frames overflowed.
func (c *conn) tooSlow() {
	if c.closeWith(chat.CloseTooSlow) {
		c.hub.m.WSSlowConsumerDisconnects.Inc()
	}
}

// closeWith queues the close frame cc after what is already queued (for a
// slow consumer the queue was emptied first). When the reader is carrying
// out a frame, the close waits until it is done, so an accepted send is
// acknowledged before the socket closes.
//
// It reports whether this call closed the socket (or scheduled its close).
func (c *conn) closeWith(cc chat.CloseCode) bool {
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
	c.closing = true
	c.sent = cc
	c.queue = append(c.queue, outFrame{kind: kindClose, data: websocket.FormatCloseMessage(cc.Code, cc.Reason)})
	c.startWriterLocked()
	c.cond.Broadcast()
}

// heartbeatTimeout ends a socket from which nothing arrived in time. No
// close frame is sent: the peer is presumed gone.
func (c *conn) heartbeatTimeout() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.timedOut = true
	c.sent = chat.CloseAbnormal
	c.cond.Broadcast()
	c.mu.Unlock()
	c.hub.m.WSHeartbeatTimeouts.Inc()
	_ = c.ws.NetConn().Close()
}

// writeLoop drains the queue, coalescing each drain into one write, and
// exits when the queue is empty.
func (c *conn) writeLoop() {
	m := c.hub.m
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.writing = false
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.queue, c.spare = c.spare[:0], nil
		c.cond.Broadcast()
		c.mu.Unlock()

		if c.cc != nil {
			c.cc.beginBatch()
		}
		deadline := time.Now().Add(c.hub.opt.WriteTimeout)
		_ = c.ws.SetWriteDeadline(deadline)
		var err error
		closed := false
		for i := range batch {
			f := &batch[i]
			switch f.kind {
			case kindControl:
				err = c.ws.WriteControl(f.control, f.data, deadline)
			case kindClose:
				err = c.ws.WriteControl(websocket.CloseMessage, f.data, deadline)
				closed = true
			default:
				// The setting is per write. A prepared frame is compressed
				// once for all its readers, so it pays from a small size; a
				// frame for this socket alone (an ack, an error) only when
				// it is large.
				if f.pm != nil {
					c.ws.EnableWriteCompression(f.size >= compressMin)
				} else {
					c.ws.EnableWriteCompression(f.size >= compressOwnMin)
				}
				if f.pm != nil {
					err = c.ws.WritePreparedMessage(f.pm)
				} else {
					err = c.ws.WriteMessage(websocket.TextMessage, f.data)
				}
				if err == nil {
					m.WSFramesSent.Inc()
					m.WSPayloadBytesSent.Add(float64(f.size))
					if f.kind == kindMessage {
						m.MessagesDelivered.Inc()
						if f.ts != 0 {
							m.DeliverySeconds.Observe(float64(time.Now().UnixNano()-f.ts) / 1e9)
						}
					}
				}
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
		clear(batch)
		c.mu.Lock()
		if c.spare == nil {
			c.spare = batch[:0]
		}
		c.mu.Unlock()
		if err != nil {
			c.logger().Debug("websocket write failed", "err", err)
			c.mu.Lock()
			c.closing = true
			c.writing = false
			c.queue = nil
			c.cond.Broadcast()
			c.mu.Unlock()
			_ = c.ws.NetConn().Close()
			return
		}
		if closed {
			// Half-close and give the peer a moment to answer; the reader
			// ends the connection when the answer or the deadline comes.
			if c.cc != nil {
				_ = c.cc.CloseWrite()
			}
			_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(closeGrace))
			c.mu.Lock()
			c.writing = false
			c.queue = nil
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
	}
}

// readBufPool holds the buffers frames are read into.
var readBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// errTooLarge reports a message over the frame limit.
var errTooLarge = errors.New("ws: message too large")

// readLoop reads and carries out frames until the connection ends, then
// cleans up. It runs on its own goroutine.
func (c *conn) readLoop() {
	defer c.cleanup()
	max := int64(c.hub.opt.MaxFrameBytes)
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.mu.Lock()
				c.received = ce.Code
				if !c.closing {
					// Answer the peer's close with the same code.
					c.closeLocked(chat.CloseCode{Code: ce.Code, Reason: ce.Text})
					c.sent = chat.CloseCode{}
				}
				c.mu.Unlock()
				c.waitWriter()
			}
			return
		}
		c.lastRead.Store(time.Now().UnixNano())
		if mt != websocket.TextMessage {
			c.closeWith(chat.CloseBinary)
			c.drain()
			return
		}
		buf := readBufPool.Get().(*bytes.Buffer)
		buf.Reset()
		n, err := buf.ReadFrom(io.LimitReader(r, max+1))
		if err == nil && n > max {
			err = errTooLarge
		}
		if err != nil {
			readBufPool.Put(buf)
			if errors.Is(err, errTooLarge) {
				c.closeWith(chat.CloseTooLarge)
				c.drain()
				return
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				c.closeWith(chat.CloseTooLarge)
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.mu.Lock()
				c.received = ce.Code
				c.mu.Unlock()
			}
			return
		}
		c.hub.m.WSFramesReceived.Inc()
		data := buf.Bytes()
		if !utf8.Valid(data) {
			readBufPool.Put(buf)
			c.closeWith(chat.CloseInvalidUTF8)
			c.drain()
			return
		}
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			readBufPool.Put(buf)
			continue // keep reading until the peer answers the close
		}
		c.busy = true
		c.mu.Unlock()

		c.handleSafely(data)
		if buf.Cap() <= 64<<10 {
			readBufPool.Put(buf)
		}

		c.mu.Lock()
		c.busy = false
		if pc := c.pendClose; pc.Code != 0 && !c.closing {
			c.closeLocked(pc)
		}
		c.mu.Unlock()
	}
}

// handleSafely carries out one frame. A panic while doing so is a bug: it
// is logged with its stack and closes this socket with 1011 rather than
// ending the process and every other socket with it.
func (c *conn) handleSafely(data []byte) {
	defer func() {
		if v := recover(); v != nil {
			c.logger().Error("frame handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			c.closeWith(chat.CloseInternal)
		}
	}()
	c.handleFrame(data)
}

// waitWriter waits until the queued frames (the close answer) are written
// and the writer has stopped, or until closeGrace has passed. The writer
// broadcasts c.cond whenever it stops, also after a failed write (as when
// the socket is closed under it), so the wait ends on that signal; a single
// timer broadcasts when the grace period is over.
func (c *conn) waitWriter() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.writing {
		return
	}
	expired := false
	t := time.AfterFunc(closeGrace, func() {
		c.mu.Lock()
		expired = true
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer t.Stop()
	for c.writing && !expired {
		c.cond.Wait()
	}
}

// drain discards what the peer still sends after a protocol error until it
// closes or the grace period ends, so our close frame is not lost to a
// reset.
func (c *conn) drain() {
	c.waitWriter()
	nc := c.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(closeGrace))
	_, _ = io.Copy(io.Discard, nc)
}

// cleanup leaves every room, forgets the socket and records how it ended.
func (c *conn) cleanup() {
	h := c.hub
	for name, mb := range c.rooms {
		mb.room.leave(c, mb)
		delete(c.rooms, name)
	}
	c.mu.Lock()
	c.closing = true
	c.queue = nil
	c.cond.Broadcast()
	sent, received, timedOut := c.sent, c.received, c.timedOut
	c.mu.Unlock()
	_ = c.ws.NetConn().Close()
	h.removeConn(c)
	h.releaseUser(c.userID, c.shared)
	h.m.WSConnections.Dec()

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
	h.m.Disconnect(code)
	level := slog.LevelInfo
	switch code {
	case chat.CloseBinary.Code, chat.CloseInvalidUTF8.Code, chat.CloseTooLarge.Code, chat.CloseTooSlow.Code:
		level = slog.LevelWarn
	case chat.CloseInternal.Code:
		level = slog.LevelError
	}
	c.logger().Log(context.Background(), level, "websocket closed", "code", code, "reason", reason, "by", by)
	h.wg.Done()
}
