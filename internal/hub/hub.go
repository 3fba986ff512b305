package hub

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
)

// Authenticator validates an access token: signature, claims and session.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (auth.Claims, error)
}

// Store is the durable storage the hub needs.
type Store interface {
	// JoinRoom makes user a member of the room as a join frame does: an
	// unknown name becomes a public room owned by user once mayCreate
	// allowed it; a private room needs an invitation (a member event
	// joined is stored) or membership; errors are chat errors
	// (room_not_found, forbidden, invalid_room) or the store's.
	JoinRoom(ctx context.Context, name string, user chat.User, serverAdmin bool, mayCreate func() error) (chat.JoinResult, error)
	// Append stores a message and assigns its seq; dup reports a repeated ref.
	Append(ctx context.Context, m chat.NewMessage) (msg chat.Message, dup bool, err error)
	// Submit queues a message as Append does and returns without waiting
	// for its commit; submits of one goroutine keep their order.
	Submit(ctx context.Context, m chat.NewMessage) (chat.PendingAppend, error)
	// Membership returns the user's membership of the room, the zero
	// Member when there is none.
	Membership(ctx context.Context, room, userID string) (chat.Member, error)
	// MessageBySeq returns the room's event with seq (chat.ErrNotFound).
	MessageBySeq(ctx context.Context, room string, seq int64) (chat.Message, error)
	// After returns the messages with after < seq <= upTo (upTo <= 0: no
	// bound), oldest first; past limit the newest limit and truncated.
	After(ctx context.Context, room string, after, upTo int64, limit int) ([]chat.Message, bool, error)
	// MarkRead moves each user's read marker in a room forward to its seq,
	// in one transaction; a seq at or below the stored marker or above the
	// room's newest seq, or a user who is not a member, changes nothing.
	MarkRead(ctx context.Context, marks []chat.ReadMark) error
}

// RoomLimiter counts the rooms a user creates: Blocked asks without
// counting, Hit counts one that was made.
type RoomLimiter interface {
	Blocked(ctx context.Context, key string) (time.Duration, error)
	Hit(ctx context.Context, key string) (time.Duration, error)
}

// Broker carries events to the other nodes; the hub delivers to its own
// members itself. Publish should not block: a room's presence changes are
// published one after the other, to keep their order. It is never called
// with a room's lock held, so it may hand the event to another hub at once.
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

// Default limits and timings. Each can be overridden in Options.
const (
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
	// ServerAdmin reports whether a username is a server admin
	// (CHAT_ADMINS); nil means nobody is.
	ServerAdmin func(username string) bool
	// RoomCreate limits the rooms each user makes by joining unknown
	// names, keyed by user id (CHAT_ROOM_CREATE_RATE, shared with the REST
	// API); nil is no limit.
	RoomCreate RoomLimiter
	Metrics    *metrics.Metrics
	Logger     *slog.Logger
	// Node names this node in published events.
	Node string

	// PingInterval and PongTimeout set the heartbeat: a socket is pinged
	// every PingInterval and ended when nothing arrived for both.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// SendQueue bounds a socket's outgoing queue, and the live frames
	// held back for it while its replay is written.
	SendQueue          int
	ReplayLimit        int
	MaxConnsPerUser    int
	MaxRoomsPerConn    int
	PresenceMaxMembers int
	// ReceiptsMaxMembers is the largest room, in members, whose reads are
	// told to the other members as receipts (CHAT_RECEIPTS_MAX_MEMBERS).
	ReceiptsMaxMembers int
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
	if o.ReceiptsMaxMembers <= 0 {
		o.ReceiptsMaxMembers = 50
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

// Hub owns every socket of this node and the rooms they joined, whatever
// carries the sockets. Its methods are safe for concurrent use.
type Hub struct {
	opt Options
	log *slog.Logger
	m   *metrics.Metrics

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
	wg       sync.WaitGroup // one per attached socket
	stop     chan struct{}
	stopOnce sync.Once
	sweeper  sync.WaitGroup

	recheck sessionRecheck // the sweeper's walk through the sessions

	bgMu   sync.Mutex
	bgDone bool           // Shutdown waits for bg; no work starts after
	bg     sync.WaitGroup // gap fills, resyncs and catch-ups in flight

	reads *readState // read markers, their writer and receipts
}

// background runs f on its own goroutine, owned by the hub: Shutdown waits
// for it. After Shutdown has begun waiting, f is not run, and background
// reports false.
func (h *Hub) background(f func()) bool {
	h.bgMu.Lock()
	if h.bgDone {
		h.bgMu.Unlock()
		return false
	}
	h.bg.Add(1)
	h.bgMu.Unlock()
	go func() {
		defer h.bg.Done()
		f()
	}()
	return true
}

// maxRemoteUsers bounds the users a room records present on other nodes:
// enough to list maxMembersListed and to know the room is past
// PresenceMaxMembers.
func (h *Hub) maxRemoteUsers() int {
	return 2 * max(h.opt.PresenceMaxMembers, maxMembersListed)
}

// connSet is a shard of the connection registry, by user: the sockets of
// one user are all in one shard, listed in byUser.
type connSet struct {
	mu     sync.Mutex
	conns  map[*Client]struct{}
	byUser map[string][]*Client
}

type roomSet struct {
	mu    sync.Mutex
	rooms map[string]*room
}

// New builds a hub and starts its heartbeat sweeper; Shutdown stops it.
func New(opt Options) *Hub {
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
		h.connShard[i].conns = make(map[*Client]struct{})
		h.connShard[i].byUser = make(map[string][]*Client)
	}
	for i := range h.roomShard {
		h.roomShard[i].rooms = make(map[string]*room)
	}
	h.sweeper.Add(1)
	go h.sweep()
	h.reads = newReadState(h)
	return h
}

// Options returns the hub's options with their defaults filled in.
func (h *Hub) Options() Options { return h.opt }

// Authenticate checks an access token with Options.Auth.
func (h *Hub) Authenticate(ctx context.Context, token string) (auth.Claims, error) {
	return h.opt.Auth.Authenticate(ctx, token)
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
	h.forEachConn(func(c *Client) { c.goAway() })
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		h.forEachConn(func(c *Client) { c.sock.Cut() })
		<-done
		err = errors.New("hub: shutdown: sockets still open at the deadline")
	}
	h.stopOnce.Do(func() { close(h.stop) })
	h.sweeper.Wait()
	h.reads.stop()
	h.bgMu.Lock()
	h.bgDone = true
	h.bgMu.Unlock()
	h.bg.Wait()
	return err
}
