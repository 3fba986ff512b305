package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// WebSocket timings and sizes.
const (
	// handshakeTimeout bounds the opening handshake.
	handshakeTimeout = 10 * time.Second
	// writeTimeout bounds one frame write.
	writeTimeout = 10 * time.Second
	// welcomeTimeout bounds the wait for the first frame, before the
	// server has told its heartbeat.
	welcomeTimeout = 30 * time.Second
	// heartbeatSlack is added to twice the server's heartbeat interval to
	// give the read deadline: a server silent for that long is gone.
	heartbeatSlack = 10 * time.Second
	// closeGrace is how long a closing client waits for the server's
	// answer to its close frame.
	closeGrace = time.Second
	// maxFrameBytes bounds one frame read from the server.
	maxFrameBytes = 4 << 20
	// frameQueue is how many frames the reader keeps ahead of the loop.
	frameQueue = 256
	// subprotocol is the protocol offered.
	subprotocol = "chat.v1"
)

// connEvent is what the reader hands to the loop: a decoded frame and its
// ref, or, last of all, the error that ended the socket.
type connEvent struct {
	ev  Event
	ref string
	err error
}

// wsConn is one open socket. Frames arrive on events; write and close are
// called from the loop's goroutine only.
type wsConn struct {
	ws       *websocket.Conn
	events   chan connEvent
	done     chan struct{} // closed when the loop is finished with it
	ended    chan struct{} // closed when the reader returns
	doneOnce sync.Once
}

// dial opens a socket with the access token in the Authorization header.
// A refused handshake is an *APIError.
func dial(ctx context.Context, wsURL, token string) (*wsConn, error) {
	d := websocket.Dialer{
		HandshakeTimeout:  handshakeTimeout,
		Subprotocols:      []string{subprotocol},
		EnableCompression: true,
	}
	ws, resp, err := d.DialContext(ctx, wsURL, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			var data []byte
			if resp.Body != nil {
				buf := make([]byte, 4096)
				n, _ := resp.Body.Read(buf)
				data = buf[:n]
			}
			return nil, fmt.Errorf("connect: %w", apiError(resp, data))
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	ws.SetReadLimit(maxFrameBytes)
	c := &wsConn{
		ws:     ws,
		events: make(chan connEvent, frameQueue),
		done:   make(chan struct{}),
		ended:  make(chan struct{}),
	}
	go c.read()
	return c, nil
}

// read decodes frames until the socket ends, keeping the read deadline a
// little past the server's heartbeat so a vanished server is noticed.
func (c *wsConn) read() {
	defer close(c.ended)
	timeout := welcomeTimeout
	c.ws.SetPingHandler(func(data string) error {
		_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.hand(connEvent{err: err})
			return
		}
		ev, ref, err := DecodeFrame(data)
		if err != nil || ev == nil {
			continue // a frame of a newer protocol, or garbage: skip it
		}
		if w, ok := ev.(*Welcome); ok && w.HeartbeatMS > 0 {
			timeout = 2*time.Duration(w.HeartbeatMS)*time.Millisecond + heartbeatSlack
		}
		if !c.hand(connEvent{ev: ev, ref: ref}) {
			return
		}
	}
}

// hand passes ev to the loop unless it is done with the socket.
func (c *wsConn) hand(ev connEvent) bool {
	select {
	case c.events <- ev:
		return true
	case <-c.done:
		return false
	}
}

// write sends one frame.
func (c *wsConn) write(f outFrame) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.ws.WriteJSON(f); err != nil {
		return fmt.Errorf("write %s: %w", f.Type, err)
	}
	return nil
}

// close sends a close frame with code, waits up to closeGrace for the
// server's answer, and releases the socket.
func (c *wsConn) close(code int) {
	c.release()
	msg := websocket.FormatCloseMessage(code, "")
	if c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace)) == nil {
		select {
		case <-c.ended:
		case <-time.After(closeGrace):
		}
	}
	_ = c.ws.Close()
}

// abort drops the socket without a close frame.
func (c *wsConn) abort() {
	c.release()
	_ = c.ws.Close()
}

// release tells the reader the loop is done with the socket.
func (c *wsConn) release() { c.doneOnce.Do(func() { close(c.done) }) }

// cut breaks the connection; the reader then reports the end.
func (c *wsConn) cut() { _ = c.ws.Close() }

// closeCode returns the close code that ended a socket: the one the server
// sent, or 1006 for a connection that broke.
func closeCode(err error) (int, string) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Text
	}
	return websocket.CloseAbnormalClosure, ""
}
