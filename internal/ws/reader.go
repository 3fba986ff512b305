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
// cleans up. It runs on its own goroutine: the read side of a socket when
// the poller is not used (see readside.go).
func (c *conn) readLoop() {
	defer c.cleanup()
	for c.readOne() {
	}
}

// readOne reads one message and carries it out. It reports false when the
// read side has ended (the peer closed, a read failed, or a protocol error
// closed the socket); the caller then cleans up.
//
// The rate bucket is asked as soon as a message's first frame header has
// been read, before its body is read or inflated: a message beyond the
// rate is still read whole (within the frame limit, and checked for UTF-8,
// so the close codes hold for it too), but never decoded; it is answered
// with rate_limited. From its first frame, a message must be complete
// within msgTimeout, or the socket is closed with 1008.
func (c *conn) readOne() bool {
	mt, r, err := c.ws.NextReader()
	if err != nil {
		c.readFailed(err)
		return false
	}
	c.cl.Heard()
	if mt != websocket.TextMessage {
		c.Close(chat.CloseBinary)
		c.drain()
		return false
	}
	allowed := c.cl.Allow()
	c.startMessage()
	buf, err := c.readBody(r)
	c.msgTimer.Stop()
	if err != nil {
		c.bodyFailed(err)
		return false
	}
	c.h.m.WSFramesReceived.Inc()
	if !utf8.Valid(buf.Bytes()) {
		readBufPool.Put(buf)
		c.Close(chat.CloseInvalidUTF8)
		c.drain()
		return false
	}
	c.carryOut(buf, allowed)
	return true
}

// readFailed ends the loop on an error of NextReader: a close from the
// peer is answered with the same code, anything else just ends it.
func (c *conn) readFailed(err error) {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return
	}
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

// readBody reads the rest of the current message into a pooled buffer,
// up to the frame limit.
func (c *conn) readBody(r io.Reader) (*bytes.Buffer, error) {
	max := int64(c.h.opt.MaxFrameBytes)
	buf := readBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err == nil && n > max {
		err = errTooLarge
	}
	if err != nil {
		readBufPool.Put(buf)
		return nil, err
	}
	return buf, nil
}

// bodyFailed ends the loop on an error while reading a message's body.
func (c *conn) bodyFailed(err error) {
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
}

// carryOut hands a read message to the hub: to be carried out when the
// rate allowed it, else to be refused. A message read while the socket is
// closing is dropped: the reader keeps reading until the peer answers the
// close.
func (c *conn) carryOut(buf *bytes.Buffer, allowed bool) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		readBufPool.Put(buf)
		return
	}
	c.busy = true
	c.mu.Unlock()

	if allowed {
		c.h.hub.HandleAllowed(c.cl, buf.Bytes())
	} else {
		c.h.hub.Refuse(c.cl, buf.Bytes())
	}
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

// startMessage arms the bound on the time the peer takes to send the
// message whose first frame has just arrived; readLoop stops it once the
// message is read. The timer belongs to the reader.
func (c *conn) startMessage() {
	if c.msgTimer == nil {
		c.msgTimer = time.AfterFunc(c.h.msgTimeout, c.messageTimedOut)
		return
	}
	c.msgTimer.Reset(c.h.msgTimeout)
}

// messageTimedOut closes a socket whose peer started a message and did
// not finish it in time, though it may well answer pings meanwhile. It
// runs on the timer's goroutine.
func (c *conn) messageTimedOut() {
	if c.Close(chat.ClosePolicy) {
		c.logger().Debug("websocket message not complete in time")
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
