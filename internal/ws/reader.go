package ws

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/gorilla/websocket"
)

// readBufPool holds the buffers frames are read into.
var readBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// errTooLarge reports a message over the frame limit.
var errTooLarge = errors.New("ws: message too large")

// readLoop reads and carries out frames until the connection ends, then
// cleans up. It runs on its own goroutine.
func (c *conn) readLoop() {
	defer c.cleanup()
	max := int64(c.h.opt.MaxFrameBytes)
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
		c.cl.Heard()
		if mt != websocket.TextMessage {
			c.Close(chat.CloseBinary)
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
				c.Close(chat.CloseTooLarge)
				c.drain()
				return
			}
			if errors.Is(err, websocket.ErrReadLimit) {
				c.Close(chat.CloseTooLarge)
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.mu.Lock()
				c.received = ce.Code
				c.mu.Unlock()
			}
			return
		}
		c.h.m.WSFramesReceived.Inc()
		data := buf.Bytes()
		if !utf8.Valid(data) {
			readBufPool.Put(buf)
			c.Close(chat.CloseInvalidUTF8)
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

		c.h.hub.Handle(c.cl, data)
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
