package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatsvc/chat/internal/chat"
)

// WebSocket timings and sizes of the client.
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
	// eventQueue is how many frames the reader keeps ahead of the client.
	eventQueue = 256
	// subprotocol is the protocol the client offers.
	subprotocol = chat.Subprotocol
	// closeAbnormal is the code of a connection that ended without a close
	// frame (a network error, a dead server).
	closeAbnormal = websocket.CloseAbnormalClosure
)

// connEvent is what the reader hands to the client: a decoded frame
// (a pointer to one of the chat frame types), or, last of all, the error
// that ended the socket.
type connEvent struct {
	frame any
	err   error
}

// wsConn is one open socket. Frames arrive on events; write and close are
// called from the client's goroutine only.
type wsConn struct {
	ws     *websocket.Conn
	events chan connEvent
	// done is closed when the client is finished with the socket, so the
	// reader stops handing it frames.
	done     chan struct{}
	ended    chan struct{} // closed when the reader returns
	doneOnce sync.Once
}

// dialWS opens the socket with the access token in the Authorization
// header. On a refused handshake it returns the HTTP response, its body
// decoded into an *apiError.
func dialWS(ctx context.Context, wsURL, token string) (*wsConn, error) {
	d := websocket.Dialer{
		HandshakeTimeout:  handshakeTimeout,
		Subprotocols:      []string{subprotocol},
		EnableCompression: true,
	}
	h := http.Header{"Authorization": {"Bearer " + token}}
	ws, resp, err := d.DialContext(ctx, wsURL, h)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			e := &apiError{Status: resp.StatusCode}
			var eb chat.ErrorBody
			if resp.Body != nil && json.NewDecoder(resp.Body).Decode(&eb) == nil {
				e.Code, e.Message = eb.Error.Code, eb.Error.Message
			}
			return nil, fmt.Errorf("connect: %w", e)
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	ws.SetReadLimit(maxFrameBytes)
	c := &wsConn{
		ws:     ws,
		events: make(chan connEvent, eventQueue),
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
		f, err := decodeServerFrame(data)
		if err != nil {
			continue // a frame of a newer protocol, or garbage: skip it
		}
		if w, ok := f.(*chat.WelcomeFrame); ok && w.HeartbeatMS > 0 {
			timeout = 2*time.Duration(w.HeartbeatMS)*time.Millisecond + heartbeatSlack
		}
		if f != nil && !c.hand(connEvent{frame: f}) {
			return
		}
	}
}

// hand passes ev to the client unless it is done with the socket.
func (c *wsConn) hand(ev connEvent) bool {
	select {
	case c.events <- ev:
		return true
	case <-c.done:
		return false
	}
}

// decodeServerFrame decodes one server frame into a pointer to its chat
// frame type; nil for a type this client ignores.
func decodeServerFrame(data []byte) (any, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, err
	}
	var f any
	switch head.Type {
	case chat.TypeWelcome:
		f = &chat.WelcomeFrame{}
	case chat.TypeJoined:
		f = &chat.JoinedFrame{}
	case chat.TypeLeft:
		f = &chat.LeftFrame{}
	case chat.TypeAck:
		f = &chat.AckFrame{}
	case chat.TypeMessage:
		f = &chat.MessageFrame{}
	case chat.TypePresence:
		f = &chat.PresenceFrame{}
	case chat.TypeAuthed:
		f = &chat.AuthedFrame{}
	case chat.TypeError:
		f = &chat.ErrorFrame{}
	default:
		return nil, nil
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, err
	}
	return f, nil
}

// outFrame is a client-to-server frame.
type outFrame struct {
	Type  string `json:"type"`
	Room  string `json:"room,omitempty"`
	Since *int64 `json:"since,omitempty"`
	Text  string `json:"text,omitempty"`
	Ref   string `json:"ref,omitempty"`
	Token string `json:"token,omitempty"`
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

// release tells the reader the client is done with the socket.
func (c *wsConn) release() { c.doneOnce.Do(func() { close(c.done) }) }

// closeCode returns the close code that ended a socket: the one the server
// sent, or closeAbnormal for a connection that broke.
func closeCode(err error) (int, string) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Text
	}
	return closeAbnormal, ""
}

// cut breaks the connection without releasing the reader, which then
// reports the end like any other.
func (c *wsConn) cut() { _ = c.ws.Close() }
