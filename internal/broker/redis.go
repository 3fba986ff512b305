package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/redis/go-redis/v9"
)

// Redis key and channel layout, all under the configured prefix (chat: by
// default):
//
//	<prefix>events             channel: revocations, seen by every node
//	<prefix>room:<room>        channel: messages, presence and typing of a room
//	<prefix>presence:<room>    hash: field <node>|<user id> = username, one per
//	                           user present on a node
//	<prefix>nodes              sorted set: node id -> last heartbeat (ms)
//	<prefix>conns:<user id>    hash: node id -> the user's open sockets there
//	<prefix>throttle:<name>:…  counters of the login and register throttles
//
// A node subscribes to the events channel and to the channel of every room
// that has members on it, all on one connection. Pub/sub is at most once:
// the hub fills any gap from the store, and after a resubscription it
// checks every room against the store.

// Defaults of RedisOptions.
const (
	DefaultReceiveBuffer = 8192
	DefaultSendTimeout   = 100 * time.Millisecond
	DefaultPublishQueue  = 8192
)

const (
	// publishBatch is the most events written in one round trip.
	publishBatch = 256
	// opTimeout bounds one Redis round trip of the broker.
	opTimeout = 2 * time.Second
	// pingInterval is how often the subscription connection is pinged; a
	// connection silent for silentAfter is replaced.
	pingInterval = 5 * time.Second
	silentAfter  = 3 * pingInterval
	// retryMin and retryMax bound the back-off between reconnects.
	retryMin = 100 * time.Millisecond
	retryMax = 2 * time.Second
	// presenceKeyTTL is renewed on each write to a room's presence hash, so
	// the hash of a room nobody uses goes away by itself.
	presenceKeyTTL = 24 * time.Hour
	// closeWait bounds how long Close waits for the broker's loops.
	closeWait = 5 * time.Second
)

// RedisOptions configure a Redis broker.
type RedisOptions struct {
	URL    string
	Prefix string
	Node   string
	// Key authenticates every event between nodes (see EventKey); at least
	// MinKeyLen bytes, the same on every node.
	Key []byte
	// MaxTextChars is the longest message text accepted from another node,
	// in code points; chat.DefaultMaxTextChars when 0.
	MaxTextChars int
	Logger       *slog.Logger
	Metrics      *metrics.Metrics
	// ReceiveBuffer is how many received events may wait for the handler.
	ReceiveBuffer int
	// SendTimeout is how long a received event waits for room in a full
	// buffer before it is dropped (and its room checked against the store).
	SendTimeout time.Duration
	// PublishQueue is how many events may wait to be published.
	PublishQueue int

	// heartbeatEvery and nodeTTL replace HeartbeatInterval and NodeTTL,
	// so that tests see a node go stale within a second.
	heartbeatEvery time.Duration
	nodeTTL        time.Duration
	// closeWait replaces the default bound on Close's wait, for tests.
	closeWait time.Duration
}

// Redis carries events between nodes over Redis pub/sub and keeps the state
// the nodes share (presence, liveness, socket counts, throttles).
type Redis struct {
	opt    RedisOptions
	rdb    *redis.Client
	log    *slog.Logger
	m      *metrics.Metrics
	prefix string
	events string // the channel every node subscribes to

	handler Handler
	codec   *eventCodec

	subMu   sync.Mutex
	rooms   map[string]bool          // rooms with local members
	live    map[string]chan struct{} // closed once a room's subscription is confirmed
	ops     []subOp                  // subscription changes not yet sent
	opsKick chan struct{}
	subUp   atomic.Bool

	in      chan chat.Event
	dirtyMu sync.Mutex
	dirty   map[string]bool // rooms to check against the store; "" = all
	gone    []string        // nodes that stopped answering
	revokes []chat.Event    // revocations received, handled ahead of the queue
	kick    chan struct{}

	pubq   chan chat.Event
	pubUp  atomic.Bool
	unsent map[string]chat.Event // what a failed publish keeps, by keepKey; publisher only

	overflowMu sync.Mutex
	overflow   map[string]chat.Event // newest message per room Publish could not queue

	goneSeen map[string]bool // heartbeat loop only

	presenceMu    sync.Mutex
	presenceRooms map[string]bool // rooms whose presence hash this node wrote to

	stop    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
	pubDone chan struct{}
}

type subOp struct {
	room string
	sub  bool
}

// clientLog sends the Redis client's own messages (one per failed dial,
// many during an outage) to the debug level; the broker reports outages
// itself, once each.
type clientLog struct{ log *slog.Logger }

func (l clientLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

var setClientLog sync.Once

// NewRedis connects to Redis and checks that it answers. Start begins
// delivering events.
func NewRedis(ctx context.Context, opt RedisOptions) (*Redis, error) {
	ropt, err := redis.ParseURL(opt.URL)
	if err != nil {
		return nil, fmt.Errorf("broker: redis url: %w", err)
	}
	ropt.DialTimeout = opTimeout
	ropt.ReadTimeout = opTimeout
	ropt.WriteTimeout = opTimeout
	ropt.MaxRetries = 1
	// One dial attempt per call: the broker retries on its own schedule,
	// and a call made while Redis is away should fail fast.
	ropt.DialerRetries = 1
	ropt.ContextTimeoutEnabled = true
	if opt.Node == "" {
		return nil, errors.New("broker: redis: node id is empty")
	}
	if len(opt.Key) < MinKeyLen {
		return nil, fmt.Errorf("broker: redis: event key is %d bytes, want at least %d", len(opt.Key), MinKeyLen)
	}
	if opt.MaxTextChars <= 0 {
		opt.MaxTextChars = chat.DefaultMaxTextChars
	}
	if opt.ReceiveBuffer <= 0 {
		opt.ReceiveBuffer = DefaultReceiveBuffer
	}
	if opt.SendTimeout <= 0 {
		opt.SendTimeout = DefaultSendTimeout
	}
	if opt.PublishQueue <= 0 {
		opt.PublishQueue = DefaultPublishQueue
	}
	if opt.heartbeatEvery <= 0 {
		opt.heartbeatEvery = HeartbeatInterval
	}
	if opt.closeWait <= 0 {
		opt.closeWait = closeWait
	}
	if opt.nodeTTL <= 0 {
		opt.nodeTTL = NodeTTL
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	setClientLog.Do(func() { redis.SetLogger(clientLog{opt.Logger}) })
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	r := &Redis{
		opt:    opt,
		rdb:    redis.NewClient(ropt),
		log:    opt.Logger,
		m:      opt.Metrics,
		prefix: opt.Prefix,
		events: opt.Prefix + "events",
		codec: &eventCodec{
			key:       append([]byte(nil), opt.Key...),
			maxBytes:  macLen + stampLen + 12*opt.MaxTextChars + eventOverhead,
			maxText:   opt.MaxTextChars,
			roomChans: opt.Prefix + "room:",
			events:    opt.Prefix + "events",
		},
		rooms:    make(map[string]bool),
		live:     make(map[string]chan struct{}),
		opsKick:  make(chan struct{}, 1),
		in:       make(chan chat.Event, opt.ReceiveBuffer),
		dirty:    make(map[string]bool),
		kick:     make(chan struct{}, 1),
		pubq:     make(chan chat.Event, opt.PublishQueue),
		unsent:   make(map[string]chat.Event),
		goneSeen: make(map[string]bool),

		presenceRooms: make(map[string]bool),
		stop:          make(chan struct{}),
		pubDone:       make(chan struct{}),
	}
	pctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if err := r.rdb.Ping(pctx).Err(); err != nil {
		_ = r.rdb.Close()
		return nil, fmt.Errorf("broker: redis: %w", err)
	}
	if err := Heartbeat(pctx, r.rdb, r.prefix, r.opt.Node); err != nil {
		_ = r.rdb.Close()
		return nil, fmt.Errorf("broker: redis: %w", err)
	}
	r.subUp.Store(true)
	r.pubUp.Store(true)
	return r, nil
}

// Client returns the Redis client, for the state the nodes share.
func (r *Redis) Client() *redis.Client { return r.rdb }

// Prefix returns the key and channel prefix.
func (r *Redis) Prefix() string { return r.prefix }

// Start delivers events from other nodes to h until Close.
func (r *Redis) Start(h Handler) {
	r.handler = h
	r.wg.Add(3)
	go r.subscribeLoop()
	go r.dispatch()
	go r.heartbeat()
	go r.publishLoop()
}

// Close publishes what is queued (for a short while), removes this node
// from the shared state (its heartbeat, and its fields in every presence
// hash it wrote to) and disconnects.
func (r *Redis) Close() error {
	r.stopped.Do(func() { close(r.stop) })
	if r.handler != nil {
		select {
		case <-r.pubDone:
		case <-time.After(2 * opTimeout):
		}
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(r.opt.closeWait):
		// A handler that does not return must not hold up the shutdown.
		r.log.Warn("redis broker closed with its loops still running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := r.removePresence(ctx); err != nil {
		r.log.Warn("remove this node's presence from redis", "err", err)
	}
	if err := RemoveNode(ctx, r.rdb, r.prefix, r.opt.Node); err != nil {
		r.log.Warn("remove this node from redis", "err", err)
	}
	return r.rdb.Close()
}

// Ping reports whether Redis answers and this node's subscription is up.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	if !r.subUp.Load() {
		return errors.New("broker: redis subscription is down")
	}
	return nil
}

func (r *Redis) roomChannel(room string) string { return r.prefix + "room:" + room }

func (r *Redis) presenceKey(room string) string { return r.prefix + "presence:" + room }

// Subscribe starts receiving the events of room. It does not wait for
// Redis: once the subscription is confirmed, the room is checked against
// the store, so nothing published before that is missed.
func (r *Redis) Subscribe(room string) { r.changeSub(room, true) }

// Unsubscribe stops receiving the events of room.
func (r *Redis) Unsubscribe(room string) { r.changeSub(room, false) }

func (r *Redis) changeSub(room string, sub bool) {
	r.subMu.Lock()
	if sub {
		r.rooms[room] = true
		if r.live[room] == nil {
			r.live[room] = make(chan struct{})
		}
	} else {
		delete(r.rooms, room)
		delete(r.live, room)
	}
	r.ops = append(r.ops, subOp{room: room, sub: sub})
	r.subMu.Unlock()
	select {
	case r.opsKick <- struct{}{}:
	default:
	}
}

// Publish queues ev for the other nodes and returns at once, so an outage
// never holds up a sender. What cannot be published is published when Redis
// returns, newest only: a room's newest message (the other nodes then fill
// the gap from the store), each user's last presence change in a room and
// every revocation. Typing notices are dropped and counted, and so is all
// but messages when the queue itself is full.
func (r *Redis) Publish(_ context.Context, ev chat.Event) error {
	select {
	case r.pubq <- ev:
		return nil
	default:
	}
	r.m.BrokerDropped.Inc()
	if ev.Kind == chat.EventMessage && ev.Message != nil {
		// The publisher is behind: the room's newest message still goes
		// out later, so the other nodes notice the gap.
		r.overflowMu.Lock()
		if old, ok := r.overflow[ev.Message.Room]; !ok || old.Message.Seq < ev.Message.Seq {
			if r.overflow == nil {
				r.overflow = make(map[string]chat.Event)
			}
			r.overflow[ev.Message.Room] = ev
		}
		r.overflowMu.Unlock()
	}
	return errors.New("broker: publish queue is full")
}

// RoomPresence lists the users present in room on the other live nodes.
// It first waits (within ctx) for the room's subscription, so every later
// change reaches this node as an event.
func (r *Redis) RoomPresence(ctx context.Context, room string) ([]chat.PresentUser, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if !r.subUp.Load() {
		// No confirmation is coming while the subscription is down; the
		// presence is announced again once it is back.
		return nil, errors.New("broker: redis subscription is down")
	}
	r.subMu.Lock()
	live := r.live[room]
	r.subMu.Unlock()
	if live != nil {
		select {
		case <-live:
		case <-ctx.Done():
			return nil, fmt.Errorf("broker: room %q: subscription not confirmed: %w", room, ctx.Err())
		}
	}
	fields, err := r.rdb.HGetAll(ctx, r.presenceKey(room)).Result()
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, nil
	}
	alive, err := AliveNodes(ctx, r.rdb, r.prefix, r.opt.nodeTTL)
	if err != nil {
		return nil, err
	}
	var out []chat.PresentUser
	for f, name := range fields {
		node, user, ok := strings.Cut(f, "|")
		if !ok || node == r.opt.Node || !alive[node] {
			continue
		}
		out = append(out, chat.PresentUser{Node: node, UserID: user, Username: name})
	}
	return out, nil
}
