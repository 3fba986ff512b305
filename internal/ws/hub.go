// Package ws is the real-time hub of the chat service: WebSocket connections,
// rooms, ordered fan-out, heartbeats, compression, limits and shutdown.
//
// The hub never talks to a database or a message bus directly: it consumes
// the small Store, Broker and Authenticator interfaces declared here, and
// cmd/api passes the concrete values.
//
// # Lock order
//
// A goroutine that holds several of these locks took them in this order,
// and takes none of the earlier ones while it holds a later one:
//
//  1. Hub.startMu (orders socket starts against Shutdown), then a
//     connSet.mu (registering the socket);
//  2. room.mu, then conn.mu of its members (queueing a frame, closing with
//     4008); Broker.Publish is called with room.mu held (presence), so a
//     Broker must not call back into this hub on the publishing goroutine;
//  3. conn.mu is a leaf, as are roomSet.mu, connSet.mu, usersMu and bgMu:
//     nothing is locked while one of them is held. Broker capabilities
//     (Subscribe, RoomPresence) and the store are called with no lock held.
//
// The in-process broker hands an event to the other hubs attached to it on
// the publishing goroutine: with two hubs in one process, a presence change
// published under one hub's room lock takes the other hub's room lock.
// Tests that attach several hubs to one in-process broker rely on the two
// never publishing for one room at the same moment.
//
// # Goroutines and their owners
//
// Every goroutine the hub starts ends before Shutdown returns: the sweeper
// (stopped by Shutdown), one reader per socket (counted in Hub.wg, ended by
// the close Shutdown sends or by cutting the socket at the deadline), the
// on-demand writer of a socket (it stops when its queue is empty and the
// reader's cleanup waits for it while the close is written), and background
// work (gap fills from the store, resyncs, room catch-ups) started through
// Hub.background and counted in Hub.bg.
//
// # Counting
//
// A dropped presence or typing frame is counted by conn.dropVolatile, a slow
// consumer by conn.tooSlow, and every end of a socket, with its close code,
// by conn.cleanup.
//
// # Seams for the rooms and moderation work
//
//   - Authorization: Options.Authorize is asked on join, send and typing
//     (later edit, delete and read take new Act values); a refusal is an
//     error frame with the refusal's code.
//   - Stream events: a room orders what it delivers by Seq alone (room.deliver,
//     the stash, the gap fill and the replay all take a chat.Message), so an
//     edit, a deletion or a member or room event stored with its own seq
//     flows through the same ordered path once the message frame encodes
//     its kind (messageFrame is the one place).
//   - Delivery to a user: a frame for every socket of one user on this node
//     (invited, read) walks the connection registry (forEachConn) and queues
//     the frame with conn.enqueue, as RevokeSession does for a session.
//   - Removal from a room: a user's memberships are owned by each socket's
//     reader, so removing them (left after a kick, a ban or a deletion) is a
//     request queued to those readers, which leave the room as for a leave
//     frame and send the final frame after their last delivery from it.
package ws

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/gorilla/websocket"
)

// Authenticator validates an access token: signature, claims and session.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Claims, error)
}

// Store is the durable storage the hub needs.
type Store interface {
	// EnsureRoom creates the room when missing and returns it.
	EnsureRoom(ctx context.Context, name string) (chat.Room, error)
	// Append stores a message and assigns its seq; dup reports a repeated ref.
	Append(ctx context.Context, m chat.NewMessage) (msg chat.Message, dup bool, err error)
	// After returns the messages with after < seq <= upTo (upTo <= 0: no
	// bound), oldest first; past limit the newest limit and truncated.
	After(ctx context.Context, room string, after, upTo int64, limit int) ([]chat.Message, bool, error)
}

// Broker carries events to the other nodes; the hub delivers to its own
// members itself. Publish must not block: presence changes are published
// with the room's lock held, to keep their order.
type Broker interface {
	Publish(ctx context.Context, ev chat.Event) error
}

// PresenceSource is an optional Broker capability: it lists the users
// present in a room on the other nodes, for a room that gets its first
// member on this node.
type PresenceSource interface {
	RoomPresence(ctx context.Context, room string) ([]chat.PresentUser, error)
}

// RoomSubscriber is an optional Broker capability: it is told which rooms
// have members on this node, so it only receives events for those.
type RoomSubscriber interface {
	Subscribe(room string)
	Unsubscribe(room string)
}

// ConnLimiter is an optional cross-node count of a user's open sockets. It
// reports whether one more socket is allowed and, when it is, counts it.
type ConnLimiter interface {
	Acquire(ctx context.Context, userID string, max int) (bool, error)
	Release(ctx context.Context, userID string)
}

// Act names what a socket asks to do in a room, for Options.Authorize.
type Act uint8

// The acts a socket asks for.
const (
	ActJoin Act = iota + 1
	ActSend
	ActTyping
)

// Default limits and timings. Each can be overridden in Options.
const (
	// DefaultWriteTimeout bounds one write to a socket.
	DefaultWriteTimeout = 10 * time.Second
	// closeGrace is how long a socket may take to answer our close frame.
	closeGrace = 2 * time.Second
	// gapWait is how long a room waits for a missing seq to arrive before
	// it reads it back from the store.
	gapWait = 150 * time.Millisecond
	// typingInterval is the least time between two relayed typing notices
	// of one user in one room.
	typingInterval = 3 * time.Second
	// maxMembersListed caps the members listed in a joined frame.
	maxMembersListed = 1000
	// sweepInterval is how often heartbeats and token expiry are checked.
	sweepInterval = 500 * time.Millisecond
	// readBufferSize is the per-socket read buffer: frames are small.
	readBufferSize = 512
	// compressMin is the payload size below which a frame is not compressed.
	compressMin = 128
	// compressOwnMin is the same for a frame written to one socket only,
	// which is deflated for that one write.
	compressOwnMin = 512
	// connShards is the number of shards of the connection registry.
	connShards = 32
	// roomShards is the number of shards of the room map.
	roomShards = 64
)

// Options configure a Hub. Zero values take the contract's defaults.
type Options struct {
	Auth   Authenticator
	Store  Store
	Broker Broker // nil: single node, nothing published
	Conns  ConnLimiter
	// Authorize, when set, is asked before a socket joins a room, sends to
	// it or types in it. An error refuses the act: the socket gets an error
	// frame with the error's code (a *chat.Error; any other error is
	// internal) and nothing else changes. nil allows every act.
	Authorize func(ctx context.Context, userID, room string, act Act) error
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	// Node names this node in published events.
	Node string

	AllowedOrigins     []string // scheme://host[:port]; empty: same host only
	Compression        bool
	PingInterval       time.Duration
	PongTimeout        time.Duration
	WriteTimeout       time.Duration
	MaxFrameBytes      int
	SendQueue          int
	ReplayLimit        int
	MaxConnsPerUser    int
	MaxRoomsPerConn    int
	PresenceMaxMembers int
	MaxTextChars       int
	RateMsgs           float64
	RateBurst          int
	// Leeway is added to a token's expiry before its socket is closed.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = 65536
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 256
	}
	if o.ReplayLimit <= 0 {
		o.ReplayLimit = 500
	}
	if o.MaxConnsPerUser <= 0 {
		o.MaxConnsPerUser = 16
	}
	if o.MaxRoomsPerConn <= 0 {
		o.MaxRoomsPerConn = 100
	}
	if o.PresenceMaxMembers <= 0 {
		o.PresenceMaxMembers = 500
	}
	if o.MaxTextChars <= 0 {
		o.MaxTextChars = chat.DefaultMaxTextChars
	}
	if o.RateMsgs <= 0 {
		o.RateMsgs = 10
	}
	if o.RateBurst <= 0 {
		o.RateBurst = 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Node == "" {
		o.Node = "local"
	}
}

// Hub owns every WebSocket connection of this node and the rooms they
// joined. Its methods are safe for concurrent use.
type Hub struct {
	opt      Options
	log      *slog.Logger
	m        *metrics.Metrics
	upgrader websocket.Upgrader

	seed      maphash.Seed
	connShard [connShards]connSet
	roomShard [roomShards]roomSet

	usersMu   sync.Mutex
	users     map[string]int // open sockets per user on this node
	connsDown atomic.Bool    // the shared socket count failed last time
	storeDown atomic.Bool    // the store failed last time

	nextID   atomic.Uint64
	startMu  sync.Mutex // orders connection starts against Shutdown
	closing  atomic.Bool
	wg       sync.WaitGroup // one per live connection
	stop     chan struct{}
	stopOnce sync.Once
	sweeper  sync.WaitGroup

	bgMu   sync.Mutex
	bgDone bool           // Shutdown waits for bg; no work starts after
	bg     sync.WaitGroup // gap fills, resyncs and catch-ups in flight
}

// background runs f on its own goroutine, owned by the hub: Shutdown waits
// for it. After Shutdown has begun waiting, f is not run.
func (h *Hub) background(f func()) {
	h.bgMu.Lock()
	if h.bgDone {
		h.bgMu.Unlock()
		return
	}
	h.bg.Add(1)
	h.bgMu.Unlock()
	go func() {
		defer h.bg.Done()
		f()
	}()
}

// maxRemoteUsers bounds the users a room records present on other nodes:
// enough to list maxMembersListed and to know the room is past
// PresenceMaxMembers.
func (h *Hub) maxRemoteUsers() int {
	return 2 * max(h.opt.PresenceMaxMembers, maxMembersListed)
}

type connSet struct {
	mu    sync.Mutex
	conns map[*conn]struct{}
}

type roomSet struct {
	mu    sync.Mutex
	rooms map[string]*room
}

// NewHub builds a hub and starts its heartbeat sweeper; Shutdown stops it.
func NewHub(opt Options) *Hub {
	opt.defaults()
	h := &Hub{
		opt:   opt,
		log:   opt.Logger,
		m:     opt.Metrics,
		seed:  maphash.MakeSeed(),
		users: make(map[string]int),
		stop:  make(chan struct{}),
	}
	for i := range h.connShard {
		h.connShard[i].conns = make(map[*conn]struct{})
	}
	for i := range h.roomShard {
		h.roomShard[i].rooms = make(map[string]*room)
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout:  10 * time.Second,
		ReadBufferSize:    readBufferSize,
		WriteBufferPool:   &sync.Pool{},
		EnableCompression: opt.Compression,
		CheckOrigin:       func(*http.Request) bool { return true }, // checked before the upgrade
		Error:             h.upgradeError,
	}
	h.sweeper.Add(1)
	go h.sweep()
	return h
}

// Handler returns the /ws handler.
func (h *Hub) Handler() http.Handler { return http.HandlerFunc(h.serveWS) }

func (h *Hub) shardOf(c *conn) *connSet { return &h.connShard[c.id%connShards] }

func (h *Hub) addConn(c *conn) {
	s := h.shardOf(c)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
}

func (h *Hub) removeConn(c *conn) {
	s := h.shardOf(c)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// forEachConn calls f for every open connection, one shard at a time.
func (h *Hub) forEachConn(f func(*conn)) {
	var batch []*conn
	for i := range h.connShard {
		s := &h.connShard[i]
		s.mu.Lock()
		batch = batch[:0]
		for c := range s.conns {
			batch = append(batch, c)
		}
		s.mu.Unlock()
		for _, c := range batch {
			f(c)
		}
	}
}

// acquireUser counts one more socket of user, refusing past the cap. The
// count is shared by every node when a ConnLimiter is set; while it cannot
// be reached the cap holds per node (shared reports which count was used).
func (h *Hub) acquireUser(ctx context.Context, userID string) (shared, ok bool) {
	if h.opt.Conns != nil {
		ok, err := h.opt.Conns.Acquire(ctx, userID, h.opt.MaxConnsPerUser)
		if err == nil {
			if h.connsDown.Swap(false) {
				h.log.Info("shared socket count restored")
			}
			return true, ok
		}
		if !h.connsDown.Swap(true) {
			h.log.Warn("shared socket count unreachable; the per-user cap holds per node until it returns", "err", err)
		}
	}
	h.usersMu.Lock()
	defer h.usersMu.Unlock()
	if h.users[userID] >= h.opt.MaxConnsPerUser {
		return false, false
	}
	h.users[userID]++
	return false, true
}

func (h *Hub) releaseUser(userID string, shared bool) {
	if shared {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		h.opt.Conns.Release(ctx, userID)
		cancel()
		return
	}
	h.usersMu.Lock()
	if n := h.users[userID] - 1; n > 0 {
		h.users[userID] = n
	} else {
		delete(h.users, userID)
	}
	h.usersMu.Unlock()
}

// sweep pings sockets, closes the silent ones and those whose token expired.
func (h *Hub) sweep() {
	defer h.sweeper.Done()
	every := min(sweepInterval, (h.opt.PingInterval+h.opt.PongTimeout)/8)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		now := h.opt.Now()
		nowNano := now.UnixNano()
		dead := int64(h.opt.PingInterval + h.opt.PongTimeout)
		ping := int64(h.opt.PingInterval)
		h.forEachConn(func(c *conn) {
			last := c.lastRead.Load()
			switch {
			case nowNano-last > dead:
				c.heartbeatTimeout()
			case nowNano > c.expires.Load():
				c.closeWith(chat.CloseTokenExpired)
			case nowNano-c.lastPing.Load() >= ping:
				c.lastPing.Store(nowNano)
				c.enqueueControl(websocket.PingMessage, nil)
			}
		})
	}
}

// RevokeSession closes every socket of the session on this node with 4003
// and tells the other nodes to do the same.
func (h *Hub) RevokeSession(ctx context.Context, sessionID string) {
	h.revokeLocal(sessionID)
	h.publish(ctx, chat.Event{Kind: chat.EventRevoke, SessionID: sessionID})
}

func (h *Hub) revokeLocal(sessionID string) {
	h.forEachConn(func(c *conn) {
		if c.sessionID == sessionID {
			c.closeWith(chat.CloseSessionRevoked)
		}
	})
}

func (h *Hub) publish(ctx context.Context, ev chat.Event) {
	if h.opt.Broker == nil {
		return
	}
	ev.Node = h.opt.Node
	if err := h.opt.Broker.Publish(ctx, ev); err != nil {
		h.m.BrokerErrors.Inc()
		h.log.Warn("broker publish failed", "kind", ev.Kind, "err", err)
		return
	}
	h.m.BrokerPublished.Inc()
}

// HandleEvent applies an event published by another node, or one the
// broker raises itself (resync, node gone).
func (h *Hub) HandleEvent(ev chat.Event) {
	if ev.Node == h.opt.Node {
		return
	}
	switch ev.Kind {
	case chat.EventRevoke:
		h.revokeLocal(ev.SessionID)
	case chat.EventMessage:
		if ev.Message == nil {
			return
		}
		if r := h.lookupRoom(ev.Message.Room); r != nil {
			r.deliver(*ev.Message)
		}
	case chat.EventTyping:
		if r := h.lookupRoom(ev.Room); r != nil {
			r.relayTyping(nil, ev.UserID, ev.Username)
		}
	case chat.EventPresence:
		if r := h.lookupRoom(ev.Room); r != nil {
			r.remotePresence(ev.Node, ev.UserID, ev.Username, ev.Presence)
		}
	case chat.EventNodeGone:
		for _, r := range h.allRooms() {
			r.nodeGone(ev.Node)
		}
	case chat.EventResync:
		if ev.Room == "" {
			h.background(h.Resync)
		} else if r := h.lookupRoom(ev.Room); r != nil {
			h.background(func() {
				r.catchUp(0)
				r.refreshPresence()
			})
		}
	}
}

func (h *Hub) allRooms() []*room {
	var rooms []*room
	for i := range h.roomShard {
		s := &h.roomShard[i]
		s.mu.Lock()
		for _, r := range s.rooms {
			rooms = append(rooms, r)
		}
		s.mu.Unlock()
	}
	return rooms
}

// Resync tells every room to check the store for messages it may have
// missed, announces this node's presence in it again and reads the other
// nodes' presence again, as after the broker was away.
func (h *Hub) Resync() {
	for _, r := range h.allRooms() {
		r.catchUp(0)
		r.announcePresence()
		r.refreshPresence()
	}
}

// Draining reports whether Shutdown has begun.
func (h *Hub) Draining() bool { return h.closing.Load() }

// Shutdown stops accepting sockets, lets every socket finish the frame it
// is handling (so accepted sends are stored and acknowledged), closes each
// with 1001 and waits for them to end or for ctx. Sockets still open when
// ctx ends are cut.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.startMu.Lock()
	h.closing.Store(true)
	h.startMu.Unlock()
	h.forEachConn(func(c *conn) { c.closeWith(chat.CloseGoingAway) })
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		h.forEachConn(func(c *conn) { _ = c.ws.NetConn().Close() })
		<-done
		err = errors.New("ws: shutdown: sockets still open at the deadline")
	}
	h.stopOnce.Do(func() { close(h.stop) })
	h.sweeper.Wait()
	h.bgMu.Lock()
	h.bgDone = true
	h.bgMu.Unlock()
	h.bg.Wait()
	return err
}
