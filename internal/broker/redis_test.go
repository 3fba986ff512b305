package broker

import (
	"context"
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/servertest"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

// testNode is a started Redis broker whose handler records every event.
type testNode struct {
	*Redis
	m      *metrics.Metrics
	events chan chat.Event
}

// startNode connects a broker for node to the Redis at redisURL under
// prefix and starts it. tweak, when set, adjusts the options; h, when set,
// replaces the recording handler. The broker is closed when the test ends.
func startNode(t *testing.T, redisURL, prefix, node string, tweak func(*RedisOptions), h Handler) *testNode {
	t.Helper()
	n := &testNode{m: metrics.New(), events: make(chan chat.Event, 4096)}
	opt := RedisOptions{URL: redisURL, Prefix: prefix, Node: node, Key: testKey, Metrics: n.m}
	if tweak != nil {
		tweak(&opt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := NewRedis(ctx, opt)
	if err != nil {
		t.Fatalf("node %s: %v", node, err)
	}
	n.Redis = r
	if h == nil {
		h = func(ev chat.Event) { n.events <- ev }
	}
	r.Start(h)
	t.Cleanup(func() { _ = r.Close() })
	return n
}

// brokerRedis is limitsRedis plus the URL of the Redis it talks to.
func brokerRedis(t *testing.T) (redis.UniversalClient, context.Context, string, string) {
	t.Helper()
	rdb, ctx, prefix := limitsRedis(t)
	return rdb, ctx, prefix, os.Getenv("CHAT_TEST_REDIS_URL")
}

// waitEvent reads ch until an event matches, failing the test after within.
// reject, when set, fails the test on any event it returns true for.
func waitEvent(t *testing.T, ch <-chan chat.Event, within time.Duration, what string, match, reject func(chat.Event) bool) chat.Event {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev := <-ch:
			if reject != nil && reject(ev) {
				t.Fatalf("waiting for %s: unexpected event %+v", what, ev)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s within %v", what, within)
		}
	}
}

// drain returns the events already in ch.
func drain(ch <-chan chat.Event) []chat.Event {
	var out []chat.Event
	for {
		select {
		case ev := <-ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func msgEvent(node, room string, seq int64) chat.Event {
	return chat.Event{Kind: chat.EventMessage, Node: node, Message: &chat.Message{Room: room, Seq: seq, ID: "id", FromID: "u1", From: "anna", Text: "hi", TS: time.Now().UTC()}}
}

func presenceEvent(node, room, user, name, event string) chat.Event {
	return chat.Event{Kind: chat.EventPresence, Node: node, Room: room, UserID: user, Username: name, Presence: event}
}

func isMessage(room string, seq int64) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Kind == chat.EventMessage && ev.Message != nil && ev.Message.Room == room && ev.Message.Seq == seq
	}
}

func isResync(room string) func(chat.Event) bool {
	return func(ev chat.Event) bool { return ev.Kind == chat.EventResync && ev.Room == room }
}

func isAnyMessage(ev chat.Event) bool { return ev.Kind == chat.EventMessage }

// publish queues ev, failing the test if Publish refuses it.
func publish(t *testing.T, n *testNode, ev chat.Event) {
	t.Helper()
	if err := n.Publish(context.Background(), ev); err != nil {
		t.Fatalf("publish %+v: %v", ev, err)
	}
}

// waitUntil polls cond every 20 ms until it holds, failing after within.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisBrokerCarriesEventsBetweenNodes(t *testing.T) {
	t.Parallel()
	_, ctx, prefix, u := brokerRedis(t)
	a := startNode(t, u, prefix, "A", nil, nil)
	b := startNode(t, u, prefix, "B", nil, nil)
	c := startNode(t, u, prefix, "C", nil, nil)
	a.Subscribe("lobby")
	b.Subscribe("lobby")
	waitEvent(t, a.events, 5*time.Second, "resync of lobby on A", isResync("lobby"), nil)
	waitEvent(t, b.events, 5*time.Second, "resync of lobby on B", isResync("lobby"), nil)

	// Nobody subscribed to "attic": B must get the lobby message first.
	publish(t, a, msgEvent("A", "attic", 1))
	publish(t, a, msgEvent("A", "lobby", 1))
	got := waitEvent(t, b.events, 5*time.Second, "a message on B", isAnyMessage, nil)
	if got.Node != "A" || got.Message.Room != "lobby" || got.Message.Seq != 1 || got.Message.Text != "hi" {
		t.Fatalf("B got %+v (message %+v), want lobby #1 from A", got, got.Message)
	}

	// A revocation has no room: every node gets it, subscribed or not.
	publish(t, a, chat.Event{Kind: chat.EventRevoke, Node: "A", SessionID: "s-1"})
	isRevoke := func(ev chat.Event) bool {
		return ev.Kind == chat.EventRevoke && ev.SessionID == "s-1" && ev.Node == "A"
	}
	waitEvent(t, b.events, 5*time.Second, "revocation on B", isRevoke, nil)
	waitEvent(t, c.events, 5*time.Second, "revocation on C", isRevoke, isAnyMessage)

	// C subscribed to nothing: no message reached it (both were published
	// before the revocation it got).
	for _, ev := range drain(c.events) {
		if ev.Kind == chat.EventMessage {
			t.Fatalf("C, subscribed to no room, got %+v", ev)
		}
	}

	// A's own events never come back to A: B's message, published after
	// them, is the first thing from another node that A sees.
	publish(t, b, msgEvent("B", "lobby", 2))
	fromA := func(ev chat.Event) bool { return ev.Node == "A" }
	waitEvent(t, a.events, 5*time.Second, "B's message on A", isMessage("lobby", 2), fromA)
	if err := a.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestRedisBrokerSubscribeResyncsAndRoomPresence(t *testing.T) {
	t.Parallel()
	rdb, ctx, prefix, u := brokerRedis(t)
	const room = "garden"
	a := startNode(t, u, prefix, "A", nil, nil)
	b := startNode(t, u, prefix, "B", nil, nil)
	pkey := prefix + "presence:" + room

	// B's own user, a user on a node whose heartbeat is stale and one on
	// a node that was removed: none of them counts for B.
	if err := rdb.HSet(ctx, pkey, "B|u-b", "bob", "S|u-s", "sam", "R|u-r", "rita").Err(); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"S", "R"} {
		if err := Heartbeat(ctx, rdb, prefix, node); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.ZAdd(ctx, prefix+"nodes", redis.Z{Score: 1, Member: "S"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNode(ctx, rdb, prefix, "R"); err != nil {
		t.Fatal(err)
	}

	a.Subscribe(room)
	waitEvent(t, a.events, 5*time.Second, "resync of the room on A", isResync(room), nil)
	publish(t, a, presenceEvent("A", room, "u-a", "anna", chat.PresenceJoin))
	waitUntil(t, 5*time.Second, "A's user in the presence hash", func() bool {
		return rdb.HGet(ctx, pkey, "A|u-a").Val() == "anna"
	})

	b.Subscribe(room)
	users, err := b.RoomPresence(ctx, room)
	if err != nil {
		t.Fatalf("room presence: %v", err)
	}
	// RoomPresence returned only once B's subscription was confirmed.
	subs, err := rdb.PubSubNumSub(ctx, prefix+"room:"+room).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n := subs[prefix+"room:"+room]; n != 2 {
		t.Fatalf("room channel has %d subscribers when RoomPresence returned, want 2", n)
	}
	want := []chat.PresentUser{{Node: "A", UserID: "u-a", Username: "anna"}}
	if !slices.Equal(users, want) {
		t.Fatalf("room presence on B = %+v, want %+v", users, want)
	}
	waitEvent(t, b.events, 5*time.Second, "resync of the room on B", isResync(room), isAnyMessage)

	// A room nobody subscribed to is read at once.
	users, err = b.RoomPresence(ctx, "elsewhere")
	if err != nil || len(users) != 0 {
		t.Fatalf("presence of an empty room = %+v, %v", users, err)
	}

	// A broker that is not started never confirms a subscription: its
	// RoomPresence gives up rather than read a list it could not follow.
	idle, err := NewRedis(ctx, RedisOptions{URL: u, Prefix: prefix, Node: "I", Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.Subscribe(room)
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if users, err := idle.RoomPresence(sctx, room); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("presence before the subscription is confirmed = %+v, %v; want a deadline error", users, err)
	}
}

func TestRedisBrokerKeepsPresenceHashInStep(t *testing.T) {
	t.Parallel()
	rdb, ctx, prefix, u := brokerRedis(t)
	const room = "porch"
	a := startNode(t, u, prefix, "A", nil, nil)
	pkey := prefix + "presence:" + room

	publish(t, a, presenceEvent("A", room, "u-1", "anna", chat.PresenceJoin))
	publish(t, a, presenceEvent("A", room, "u-2", "bert", chat.PresenceJoin))
	waitUntil(t, 5*time.Second, "both users in the presence hash", func() bool {
		return rdb.HLen(ctx, pkey).Val() == 2
	})
	got, err := rdb.HGetAll(ctx, pkey).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["A|u-1"] != "anna" || got["A|u-2"] != "bert" {
		t.Fatalf("presence hash = %v", got)
	}
	if ttl := rdb.TTL(ctx, pkey).Val(); ttl <= 0 {
		t.Fatalf("presence hash has no expiry (ttl %v)", ttl)
	}

	publish(t, a, presenceEvent("A", room, "u-1", "anna", chat.PresenceLeave))
	publish(t, a, chat.Event{Kind: chat.EventTyping, Node: "A", Room: room, UserID: "u-3", Username: "cleo"})
	waitUntil(t, 5*time.Second, "u-1 gone from the presence hash", func() bool {
		return !rdb.HExists(ctx, pkey, "A|u-1").Val()
	})
	got, err = rdb.HGetAll(ctx, pkey).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["A|u-2"] != "bert" {
		t.Fatalf("presence hash after a leave and a typing notice = %v", got)
	}
}

// slowPair starts node A and node B, B with a receive buffer of one event
// and a handler that holds every message until gate closes, subscribed to
// room.
func slowPair(t *testing.T, room string) (a, b *testNode, got chan chat.Event, gate chan struct{}) {
	t.Helper()
	_, _, prefix, u := brokerRedis(t)
	a = startNode(t, u, prefix, "A", nil, nil)
	gate = make(chan struct{})
	got = make(chan chat.Event, 64)
	b = startNode(t, u, prefix, "B", func(o *RedisOptions) {
		o.ReceiveBuffer = 1
		o.SendTimeout = 50 * time.Millisecond
	}, func(ev chat.Event) {
		got <- ev
		if ev.Kind == chat.EventMessage {
			<-gate
		}
	})
	b.Subscribe(room)
	waitEvent(t, got, 5*time.Second, "resync of the room", isResync(room), nil)
	return a, b, got, gate
}

func TestRedisBrokerDropsWhenHandlerIsSlow(t *testing.T) {
	t.Parallel()
	const room = "busy"
	a, b, got, gate := slowPair(t, room)

	// The handler holds the first message and the buffer the second; the
	// rest wait SendTimeout each and are dropped.
	const n = 8
	for i := int64(1); i <= n; i++ {
		publish(t, a, msgEvent("A", room, i))
	}
	dropped := func() int { return int(testutil.ToFloat64(b.m.BrokerDropped)) }
	waitUntil(t, 10*time.Second, "drops counted", func() bool { return dropped() >= n-3 })
	time.Sleep(200 * time.Millisecond) // let the last drops happen
	close(gate)

	var delivered []int64
	resynced := false
	timeout := time.After(5 * time.Second)
	for !resynced || len(delivered)+dropped() < n {
		select {
		case ev := <-got:
			switch {
			case ev.Kind == chat.EventMessage:
				delivered = append(delivered, ev.Message.Seq)
			case isResync(room)(ev):
				resynced = true
			}
		case <-timeout:
			t.Fatalf("after the handler freed up: delivered %v, dropped %d, resync %v; want %d in all and a resync", delivered, dropped(), resynced, n)
		}
	}
	time.Sleep(100 * time.Millisecond)
	for _, ev := range drain(got) {
		if ev.Kind == chat.EventMessage {
			delivered = append(delivered, ev.Message.Seq)
		}
	}
	if d := dropped(); len(delivered)+d != n || d < n-3 || !slices.IsSorted(delivered) || delivered[0] != 1 {
		t.Fatalf("delivered %v and dropped %d of %d messages", delivered, d, n)
	}
}

func TestRedisBrokerNeverDropsRevocations(t *testing.T) {
	t.Parallel()
	const room = "crowded"
	a, b, got, gate := slowPair(t, room)

	// The handler holds one message and the buffer another; then a
	// presence change and a revocation arrive with no room for them.
	publish(t, a, msgEvent("A", room, 1))
	publish(t, a, msgEvent("A", room, 2))
	waitEvent(t, got, 5*time.Second, "the first message", isMessage(room, 1), nil)
	publish(t, a, presenceEvent("A", room, "u-1", "una", chat.PresenceJoin))
	publish(t, a, chat.Event{Kind: chat.EventRevoke, Node: "A", SessionID: "s-full"})
	waitUntil(t, 5*time.Second, "the presence event dropped", func() bool { return testutil.ToFloat64(b.m.BrokerDropped) >= 1 })
	close(gate)

	revoked, resynced := false, false
	timeout := time.After(5 * time.Second)
	for !revoked || !resynced {
		select {
		case ev := <-got:
			if ev.Kind == chat.EventRevoke && ev.SessionID == "s-full" {
				revoked = true
			}
			if isResync(room)(ev) {
				resynced = true
			}
		case <-timeout:
			t.Fatalf("revocation delivered %v, room resynced after the dropped presence %v; want both", revoked, resynced)
		}
	}
}

// viaProxy returns redisURL with its host replaced by the proxy's.
func viaProxy(t *testing.T, redisURL string, p *servertest.Proxy) string {
	t.Helper()
	pu, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	pu.Host = p.Addr()
	return pu.String()
}

func TestRedisBrokerPublishesNewestMessageAfterOutage(t *testing.T) {
	t.Parallel()
	rdb, ctx, prefix, u := brokerRedis(t)
	ropt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := servertest.StartProxy(t, ropt.Addr)
	a := startNode(t, viaProxy(t, u, proxy), prefix, "A", nil, nil)

	// A watcher on Redis itself sees what A gets through.
	watch := rdb.Subscribe(ctx, prefix+"room:north", prefix+"room:south", prefix+"events")
	defer watch.Close()
	for range 3 {
		if _, err := watch.ReceiveTimeout(ctx, 5*time.Second); err != nil {
			t.Fatalf("watcher: %v", err)
		}
	}

	proxy.Down()
	for i := int64(1); i <= 5; i++ {
		start := time.Now()
		publish(t, a, msgEvent("A", "north", i))
		if i <= 2 {
			publish(t, a, msgEvent("A", "south", i))
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("Publish with Redis away took %v; it must only queue", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	publish(t, a, chat.Event{Kind: chat.EventTyping, Node: "A", Room: "north", UserID: "u-1", Username: "anna"})
	waitUntil(t, 5*time.Second, "ping to fail", func() bool { return a.Ping(ctx) != nil })
	// Let the publisher take everything queued and fail at it: one attempt
	// (its dial retries included) ends within opTimeout.
	waitUntil(t, 5*time.Second, "publish queue to empty", func() bool { return len(a.pubq) == 0 })
	time.Sleep(opTimeout + 500*time.Millisecond)
	if msg, err := watch.ReceiveTimeout(ctx, 100*time.Millisecond); err == nil {
		t.Fatalf("published while Redis was unreachable: %v", msg)
	}

	proxy.Up()
	seen := map[string]int64{}
	for len(seen) < 2 {
		msg, err := watch.ReceiveTimeout(ctx, 8*time.Second)
		if err != nil {
			t.Fatalf("after Redis came back, saw %v: %v", seen, err)
		}
		m, ok := msg.(*redis.Message)
		if !ok {
			continue
		}
		ev, err := a.codec.decode(m.Channel, []byte(m.Payload), time.Now())
		if err != nil || ev.Message == nil {
			t.Fatalf("on %s: %q (%v)", m.Channel, m.Payload, err)
		}
		if _, dup := seen[m.Channel]; dup {
			t.Fatalf("%s got a second message, #%d", m.Channel, ev.Message.Seq)
		}
		seen[m.Channel] = ev.Message.Seq
	}
	want := map[string]int64{prefix + "room:north": 5, prefix + "room:south": 2}
	if len(seen) != 2 || seen[prefix+"room:north"] != 5 || seen[prefix+"room:south"] != 2 {
		t.Fatalf("published after the outage %v, want %v", seen, want)
	}
	if msg, err := watch.ReceiveTimeout(ctx, 300*time.Millisecond); err == nil {
		t.Fatalf("more published after the newest messages: %v", msg)
	}
	if d := testutil.ToFloat64(a.m.BrokerDropped); d < 1 {
		t.Fatalf("the typing notice lost in the outage was not counted (dropped %v)", d)
	}
	// A checks its own rooms too, as other nodes may have counted it gone.
	waitEvent(t, a.events, 5*time.Second, "resync of every room on A", isResync(""), nil)
}

func TestRedisBrokerRidesOutRedisRestart(t *testing.T) {
	t.Parallel()
	rs := servertest.StartRedis(t)
	const prefix = "chat:"
	const room = "hall"
	a := startNode(t, rs.URL(), prefix, "A", nil, nil)
	b := startNode(t, rs.URL(), prefix, "B", nil, nil)
	b.Subscribe(room)
	waitEvent(t, b.events, 5*time.Second, "resync of the room", isResync(room), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("ping with Redis up: %v", err)
	}

	rs.Stop()
	waitUntil(t, 5*time.Second, "ping to fail with Redis down", func() bool {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return b.Ping(pctx) != nil
	})
	// Long enough for the reconnect back-off to reach retryMax.
	time.Sleep(3 * time.Second)
	drain(b.events)
	rs.Start()
	waitUntil(t, 8*time.Second, "ping to succeed with Redis back", func() bool { return b.Ping(ctx) == nil })
	waitEvent(t, b.events, 5*time.Second, "resync of every room", isResync(""), nil)

	// Events flow again; A's publisher may need a moment to reconnect.
	var seq int64
	deadline := time.Now().Add(8 * time.Second)
	for {
		seq++
		publish(t, a, msgEvent("A", room, seq))
		select {
		case ev := <-b.events:
			if ev.Kind != chat.EventMessage {
				continue
			}
			if ev.Node != "A" || ev.Message.Room != room {
				t.Fatalf("after the restart B got %+v", ev)
			}
		case <-time.After(200 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no message reached B after Redis came back")
			}
			continue
		}
		break
	}

	// A second, short outage: the back-off starts afresh, so B is back
	// well before retryMax, not where the first outage left it.
	stopped := time.Now()
	rs.Stop()
	rs.Start()
	waitUntil(t, 8*time.Second, "ping to succeed after a quick restart", func() bool { return b.Ping(ctx) == nil })
	if d := time.Since(stopped); d >= retryMax*3/4 {
		t.Fatalf("B took %v to resubscribe after a short outage; the back-off was not reset", d)
	}
	waitEvent(t, b.events, 5*time.Second, "resync of every room after the quick restart", isResync(""), nil)
}

func TestRedisBrokerReportsStaleNodeOnce(t *testing.T) {
	t.Parallel()
	rdb, ctx, prefix, u := brokerRedis(t)
	quick := func(o *RedisOptions) {
		o.heartbeatEvery = 50 * time.Millisecond
		o.nodeTTL = 400 * time.Millisecond
	}
	a := startNode(t, u, prefix, "A", quick, nil)
	startNode(t, u, prefix, "B", quick, nil)

	gone := func(node string) func(chat.Event) bool {
		return func(ev chat.Event) bool { return ev.Kind == chat.EventNodeGone && ev.Node == node }
	}
	notB := func(ev chat.Event) bool { return gone("B")(ev) || gone("A")(ev) }
	for round := range 2 {
		// "Z" heartbeats once and then stops, as a killed node does.
		if err := Heartbeat(ctx, rdb, prefix, "Z"); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, a.events, 5*time.Second, "Z gone", gone("Z"), notB)
		// Reported once: a few more heartbeats pass without another.
		timeout := time.After(600 * time.Millisecond)
	quiet:
		for {
			select {
			case ev := <-a.events:
				if gone("Z")(ev) || notB(ev) {
					t.Fatalf("round %d: second report %+v", round, ev)
				}
			case <-timeout:
				break quiet
			}
		}
	}
}

func TestRedisBrokerCloseWithoutStartAndTwice(t *testing.T) {
	t.Parallel()
	rdb, ctx, prefix, u := brokerRedis(t)
	r, err := NewRedis(ctx, RedisOptions{URL: u, Prefix: prefix, Node: "A", Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if alive, err := AliveNodes(ctx, rdb, prefix, NodeTTL); err != nil || !alive["A"] {
		t.Fatalf("after NewRedis alive = %v, %v; want A", alive, err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("close before start: %v", err)
	}
	if alive, err := AliveNodes(ctx, rdb, prefix, NodeTTL); err != nil || alive["A"] {
		t.Fatalf("after Close alive = %v, %v; want A removed", alive, err)
	}
	if err := r.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func TestRedisBrokerKeepsPresenceAndRevocationsThroughOutage(t *testing.T) {
	t.Parallel()
	rdb, ctx, prefix, u := brokerRedis(t)
	ropt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	const room = "deck"
	pkey := prefix + "presence:" + room
	proxy := servertest.StartProxy(t, ropt.Addr)
	a := startNode(t, viaProxy(t, u, proxy), prefix, "A", nil, nil)
	watch := rdb.Subscribe(ctx, prefix+"events")
	defer watch.Close()
	if _, err := watch.ReceiveTimeout(ctx, 5*time.Second); err != nil {
		t.Fatalf("watcher: %v", err)
	}

	publish(t, a, presenceEvent("A", room, "u-1", "anna", chat.PresenceJoin))
	publish(t, a, presenceEvent("A", room, "u-2", "bert", chat.PresenceJoin))
	waitUntil(t, 5*time.Second, "both users in the presence hash", func() bool { return rdb.HLen(ctx, pkey).Val() == 2 })

	// Both users leave and a session is revoked while Redis is away.
	proxy.Down()
	publish(t, a, presenceEvent("A", room, "u-1", "anna", chat.PresenceLeave))
	publish(t, a, presenceEvent("A", room, "u-2", "bert", chat.PresenceLeave))
	publish(t, a, chat.Event{Kind: chat.EventRevoke, Node: "A", SessionID: "s-9"})
	waitUntil(t, 5*time.Second, "publish queue to empty", func() bool { return len(a.pubq) == 0 })
	time.Sleep(opTimeout + 500*time.Millisecond)

	// Redis is back and anna joins again at once: her join is newer than
	// the leave that waited, so she ends present and bert absent.
	proxy.Up()
	publish(t, a, presenceEvent("A", room, "u-1", "anna", chat.PresenceJoin))
	msg, err := watch.ReceiveTimeout(ctx, 8*time.Second)
	if err != nil {
		t.Fatalf("the revocation made during the outage was not published: %v", err)
	}
	if m, ok := msg.(*redis.Message); !ok || !strings.Contains(m.Payload, `"s-9"`) {
		t.Fatalf("events channel got %v, want the revocation of s-9", msg)
	}
	waitUntil(t, 5*time.Second, "anna's join and bert's leave in the presence hash", func() bool {
		got := rdb.HGetAll(ctx, pkey).Val()
		return len(got) == 1 && got["A|u-1"] == "anna"
	})
	time.Sleep(200 * time.Millisecond)
	if got := rdb.HGetAll(ctx, pkey).Val(); len(got) != 1 || got["A|u-1"] != "anna" {
		t.Fatalf("presence hash after the outage = %v, want anna only", got)
	}
}

func TestRedisBrokerCloseDoesNotWaitForAStuckHandler(t *testing.T) {
	t.Parallel()
	_, _, prefix, u := brokerRedis(t)
	const room = "stuck"
	a := startNode(t, u, prefix, "A", nil, nil)
	stuck := make(chan struct{})
	entered := make(chan struct{}, 1)
	t.Cleanup(func() { close(stuck) })
	b, err := NewRedis(context.Background(), RedisOptions{URL: u, Prefix: prefix, Node: "B", Key: testKey, closeWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b.Start(func(ev chat.Event) {
		if ev.Kind == chat.EventMessage {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-stuck
		}
	})
	b.Subscribe(room)
	waitUntil(t, 5*time.Second, "the message to reach the stuck handler", func() bool {
		publish(t, a, msgEvent("A", room, 1))
		select {
		case <-entered:
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	})
	closed := make(chan struct{})
	go func() { _ = b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for a stuck handler")
	}
}
