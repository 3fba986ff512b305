package broker

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/hub"
	"github.com/redis/go-redis/v9"
)

var _ hub.ConnLimiter = (*RedisConns)(nil)

// testNodeTTL stands in for NodeTTL so that a node dies within a test.
const testNodeTTL = 300 * time.Millisecond

func newTestConns(rdb redis.UniversalClient, prefix, node string) *RedisConns {
	c := NewRedisConns(rdb, prefix, node)
	c.ttl = testNodeTTL
	return c
}

// wantAcquire calls c.Acquire and fails the test on an error or an unexpected
// answer.
func wantAcquire(tb testing.TB, ctx context.Context, c *RedisConns, user string, max int, want bool) {
	tb.Helper()
	ok, err := c.Acquire(ctx, user, max)
	if err != nil {
		tb.Fatalf("node %s Acquire(%s, %d): %v", c.node, user, max, err)
	}
	if ok != want {
		tb.Fatalf("node %s Acquire(%s, %d) = %v, want %v", c.node, user, max, ok, want)
	}
}

// connsHash returns the conns hash of user as node id → count.
func connsHash(tb testing.TB, ctx context.Context, rdb redis.UniversalClient, prefix, user string) map[string]int {
	tb.Helper()
	m, err := rdb.HGetAll(ctx, prefix+"conns:"+user).Result()
	if err != nil {
		tb.Fatalf("HGETALL: %v", err)
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		n, err := strconv.Atoi(v)
		if err != nil {
			tb.Fatalf("field %s = %q: %v", k, v, err)
		}
		out[k] = n
	}
	return out
}

// wantConns fails unless the conns hash of user holds exactly want (node id
// → count); what says when, for the message.
func wantConns(tb testing.TB, ctx context.Context, rdb redis.UniversalClient, prefix, user, what string, want map[string]int) {
	tb.Helper()
	if got := connsHash(tb, ctx, rdb, prefix, user); !maps.Equal(got, want) {
		tb.Fatalf("conns hash of %s %s = %v, want %v", user, what, got, want)
	}
}

func TestRedisConnsCapAcrossNodes(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	a := NewRedisConns(rdb, prefix, "node-a")
	b := NewRedisConns(rdb, prefix, "node-b")
	const max = 3

	wantAcquire(t, ctx, a, "u1", max, true)
	wantAcquire(t, ctx, a, "u1", max, true)
	wantAcquire(t, ctx, b, "u1", max, true)
	wantAcquire(t, ctx, b, "u1", max, false)
	wantAcquire(t, ctx, a, "u1", max, false)
	wantConns(t, ctx, rdb, prefix, "u1", "after the acquires", map[string]int{"node-a": 2, "node-b": 1})
	ttl, err := rdb.PTTL(ctx, prefix+"conns:u1").Result()
	if err != nil || ttl <= 0 || ttl > connsExpiry {
		t.Fatalf("conns hash PTTL = %v, %v; want in (0, %v]", ttl, err, connsExpiry)
	}

	// Another user has a cap of their own.
	wantAcquire(t, ctx, b, "u2", max, true)

	// A release on either node frees a place for either node.
	a.Release(ctx, "u1")
	wantAcquire(t, ctx, b, "u1", max, true)
	wantAcquire(t, ctx, a, "u1", max, false)

	for range 2 {
		b.Release(ctx, "u1")
	}
	a.Release(ctx, "u1")
	wantConns(t, ctx, rdb, prefix, "u1", "after releasing every socket", map[string]int{})
	if n, err := rdb.Exists(ctx, prefix+"conns:u1").Result(); err != nil || n != 0 {
		t.Fatalf("conns hash still exists (%d, %v) after every release", n, err)
	}
	// A stray Release leaves no negative count behind.
	a.Release(ctx, "u1")
	wantConns(t, ctx, rdb, prefix, "u1", "after a stray Release", map[string]int{})
}

func TestRedisConnsDeadNodeStopsCounting(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	a := newTestConns(rdb, prefix, "node-a")
	b := newTestConns(rdb, prefix, "node-b")
	const max = 2

	wantAcquire(t, ctx, b, "u", max, true)
	wantAcquire(t, ctx, b, "u", max, true)

	// While b beats, its sockets count well past the TTL.
	deadline := time.Now().Add(2 * testNodeTTL)
	for time.Now().Before(deadline) {
		if err := Heartbeat(ctx, rdb, prefix, "node-b"); err != nil {
			t.Fatal(err)
		}
		wantAcquire(t, ctx, a, "u", max, false)
		time.Sleep(50 * time.Millisecond)
	}

	// b stops beating: once it is stale its sockets are dropped.
	time.Sleep(testNodeTTL + 100*time.Millisecond)
	wantAcquire(t, ctx, a, "u", max, true)
	wantConns(t, ctx, rdb, prefix, "u", "once node-b went stale", map[string]int{"node-a": 1})
	wantAcquire(t, ctx, a, "u", max, true)
	wantAcquire(t, ctx, a, "u", max, false)

	// b's late releases do not eat into a's count.
	b.Release(ctx, "u")
	b.Release(ctx, "u")
	wantConns(t, ctx, rdb, prefix, "u", "after the dead node's releases", map[string]int{"node-a": 2})
}

func TestRedisConnsRemovedNodeStopsCounting(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	a := NewRedisConns(rdb, prefix, "node-a")
	b := NewRedisConns(rdb, prefix, "node-b")
	wantAcquire(t, ctx, b, "u", 1, true)
	wantAcquire(t, ctx, a, "u", 1, false)
	if err := RemoveNode(ctx, rdb, prefix, "node-b"); err != nil {
		t.Fatal(err)
	}
	wantAcquire(t, ctx, a, "u", 1, true)
}

// TestRedisConnsOwnFieldCountsWhileStale: the calling node's own sockets
// always count, even when its heartbeat had gone stale.
func TestRedisConnsOwnFieldCountsWhileStale(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	a := newTestConns(rdb, prefix, "node-a")
	wantAcquire(t, ctx, a, "u", 2, true)
	wantAcquire(t, ctx, a, "u", 2, true)
	time.Sleep(testNodeTTL + 100*time.Millisecond)
	wantAcquire(t, ctx, a, "u", 2, false)
}

// TestRedisConnsNewNodeBeforeHeartbeat: a node that has only ever acquired
// (no Heartbeat yet) still counts for the other nodes.
func TestRedisConnsNewNodeBeforeHeartbeat(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	a := NewRedisConns(rdb, prefix, "node-a")
	b := NewRedisConns(rdb, prefix, "node-b")
	wantAcquire(t, ctx, a, "u", 1, true)
	wantAcquire(t, ctx, b, "u", 1, false)
}

func TestRedisConnsConcurrentAcquire(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	const (
		nodes   = 4
		perNode = 25
		max     = 10
	)
	var wg sync.WaitGroup
	var allowed atomic.Int64
	errs := make(chan error, nodes*perNode)
	for n := range nodes {
		c := NewRedisConns(rdb, prefix, "node-"+strconv.Itoa(n))
		for range perNode {
			wg.Go(func() {
				ok, err := c.Acquire(ctx, "u", max)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					allowed.Add(1)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Acquire: %v", err)
	}
	if got := allowed.Load(); got != max {
		t.Fatalf("%d sockets admitted, want exactly %d", got, max)
	}
	sum := 0
	for _, v := range connsHash(t, ctx, rdb, prefix, "u") {
		sum += v
	}
	if sum != max {
		t.Fatalf("conns hash sums to %d, want %d", sum, max)
	}
}

func TestRedisConnsOnDeadRedis(t *testing.T) {
	rdb := limitsDeadRedis(t)
	c := NewRedisConns(rdb, "p:", "node-a")
	var got error
	c.OnError = func(err error) { got = err }
	ctx, cancel := context.WithTimeout(context.Background(), limitsTestTimeout)
	defer cancel()
	if ok, err := c.Acquire(ctx, "u", 5); err == nil || ok {
		t.Fatalf("Acquire on a dead Redis = %v, %v; want false and an error", ok, err)
	}
	c.Release(ctx, "u")
	if got == nil {
		t.Fatal("Release on a dead Redis did not report to OnError")
	}
}
