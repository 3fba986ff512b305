package hub

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"golang.org/x/time/rate"
)

// Client is the hub's side of one socket: who is on it, the rooms it
// joined, its rate limit, heartbeat and token expiry. The transport makes
// it with NewClient, registers it with Attach, hands it every frame the
// peer sends with Handle from one goroutine (which owns its rooms), and
// ends it with Detach.
type Client struct {
	hub       *Hub
	sock      Socket
	id        uint64
	userID    string
	username  string
	sessionID string
	limiter   *rate.Limiter
	shared    bool // counted by the shared ConnLimiter

	lastRead atomic.Int64 // unix nanoseconds of the last frame or pong
	lastPing atomic.Int64
	expires  atomic.Int64 // unix nanoseconds after which the socket closes with 4001

	rooms map[string]*member // owned by the goroutine calling Handle
	// admitted reports that the transport took the token of the frame
	// being handled (HandleAllowed); owned by the goroutine calling Handle.
	admitted bool

	sends sendQueue // sends waiting for their commit (sends.go)
}

// NewClient makes the hub's side of socket s, opened with claims; shared
// is what AcquireUser reported. It is not registered until Attach.
func (h *Hub) NewClient(s Socket, claims auth.Claims, shared bool) *Client {
	now := time.Now()
	c := &Client{
		hub:       h,
		sock:      s,
		id:        h.nextID.Add(1),
		userID:    claims.UserID,
		username:  claims.Username,
		sessionID: claims.SessionID,
		limiter:   rate.NewLimiter(rate.Limit(h.opt.RateMsgs), h.opt.RateBurst),
		rooms:     make(map[string]*member),
		shared:    shared,
	}
	c.sends.cond.L = &c.sends.mu
	c.lastRead.Store(now.UnixNano())
	c.lastPing.Store(now.UnixNano())
	c.expires.Store(claims.ExpiresAt.Add(h.opt.Leeway).UnixNano())
	return c
}

// ID returns the socket's id on this node.
func (c *Client) ID() uint64 { return c.id }

// UserID returns the id of the socket's user.
func (c *Client) UserID() string { return c.userID }

// Heard records that a frame or a pong came from the peer, for the
// heartbeat.
func (c *Client) Heard() { c.lastRead.Store(time.Now().UnixNano()) }

// Logger returns the hub's logger with this socket's attributes. It is
// built when something is logged, not kept: most sockets never log, and a
// kept logger would cost every idle socket its formatted attributes.
func (c *Client) Logger() *slog.Logger {
	return c.hub.log.With("conn_id", strconv.FormatUint(c.id, 10), "user_id", c.userID)
}

// Attach registers c and greets it with the welcome frame. It reports
// false, registering nothing, once Shutdown has begun: the transport then
// closes the socket with 1001 and calls ReleaseUser. Every attached
// client must be ended with Detach; Shutdown waits for it.
func (h *Hub) Attach(c *Client) bool {
	h.startMu.Lock()
	if h.closing.Load() {
		h.startMu.Unlock()
		return false
	}
	h.wg.Add(1)
	h.addConn(c)
	h.startMu.Unlock()
	h.m.WSConnections.Inc()
	h.m.WSAccepted.Inc()
	c.Logger().Debug("websocket opened")
	c.sendJSON(chat.WelcomeFrame{
		Type:        chat.TypeWelcome,
		User:        chat.WelcomeUser{ID: c.userID, Username: c.username},
		SessionID:   c.sessionID,
		HeartbeatMS: h.opt.PingInterval.Milliseconds(),
	})
	h.recheckSoon(c)
	return true
}

// End says how a socket ended, for Detach.
type End struct {
	Code   int    // the close code sent, or received when none was sent
	Reason string // the close reason, for the log
	By     string // "server" or "client"
}

// Detach leaves every room of c, forgets the socket and records how it
// ended: the one place the end of a socket is counted, with its close
// code. It is called once, by the goroutine that calls Handle, after the
// socket is closed.
func (h *Hub) Detach(c *Client, end End) {
	for name, mb := range c.rooms {
		mb.room.leave(c, mb)
		delete(c.rooms, name)
	}
	h.removeConn(c)
	h.ReleaseUser(c.userID, c.shared)
	h.m.WSConnections.Dec()
	h.m.Disconnect(end.Code)
	level := slog.LevelInfo
	switch end.Code {
	case chat.CloseBinary.Code, chat.CloseInvalidUTF8.Code, chat.CloseTooLarge.Code, chat.CloseTooSlow.Code:
		level = slog.LevelWarn
	case chat.CloseInternal.Code:
		level = slog.LevelError
	}
	c.Logger().Log(context.Background(), level, "websocket closed", "code", end.Code, "reason", end.Reason, "by", end.By)
	h.wg.Done()
}

// deliver queues f for the socket. A refused volatile frame is dropped
// and counted; any other refused frame makes the socket a slow consumer.
func (c *Client) deliver(f Frame) {
	if c.sock.Deliver(f) {
		return
	}
	if f.Kind == KindVolatile {
		c.dropVolatile()
		return
	}
	c.tooSlow()
}

// sendJSON queues a frame for this socket alone.
func (c *Client) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.Logger().Error("encode frame", "err", err)
		return
	}
	c.deliver(Frame{Kind: KindData, Data: b})
}

func (c *Client) sendError(code, msg, ref, room string) {
	c.sendJSON(chat.ErrorFrame{Type: chat.TypeError, Code: code, Message: msg, Ref: ref, Room: room})
}

// dropVolatile counts a presence or typing frame not queued for this
// socket: the one place such a drop is counted.
func (c *Client) dropVolatile() { c.hub.m.WSFramesDroppedVolatile.Inc() }

// tooSlow closes the socket with 4008 because it cannot keep up, and counts
// it: the one place a slow consumer is counted, whether its queue or its
// held-back live frames overflowed.
func (c *Client) tooSlow() {
	if c.sock.Close(chat.CloseTooSlow) {
		c.hub.m.WSSlowConsumerDisconnects.Inc()
	}
}
