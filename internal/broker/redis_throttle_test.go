package broker

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
)

func TestRedisThrottleWindow(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	rate := chat.Rate{N: 3, Per: time.Minute}
	th := NewRedisThrottle(rdb, prefix+"throttle:login:", rate)

	// Blocked records nothing.
	for range 10 {
		if d, err := th.Blocked(ctx, "k"); err != nil || d != 0 {
			t.Fatalf("Blocked on a fresh key = %v, %v; want 0, nil", d, err)
		}
	}
	for i := 1; i <= rate.N; i++ {
		if d, err := th.Hit(ctx, "k"); err != nil || d != 0 {
			t.Fatalf("Hit %d of %d = %v, %v; want 0, nil", i, rate.N, d, err)
		}
		d, err := th.Blocked(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if i < rate.N && d != 0 {
			t.Fatalf("Blocked after %d of %d hits = %v, want 0", i, rate.N, d)
		}
		if i == rate.N && (d <= 0 || d > rate.Per) {
			t.Fatalf("Blocked after the limit = %v, want in (0, %v]", d, rate.Per)
		}
	}
	d, err := th.Hit(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > rate.Per {
		t.Fatalf("Hit %d = %v, want a wait in (0, %v]", rate.N+1, d, rate.Per)
	}
	if got, err := rdb.Get(ctx, prefix+"throttle:login:k").Int(); err != nil || got != rate.N+1 {
		t.Fatalf("stored count = %d, %v; want %d", got, err, rate.N+1)
	}

	// Other keys are not affected.
	if d, err := th.Hit(ctx, "other"); err != nil || d != 0 {
		t.Fatalf("Hit on another key = %v, %v; want 0, nil", d, err)
	}

	// Reset forgets.
	if err := th.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if d, err := th.Blocked(ctx, "k"); err != nil || d != 0 {
		t.Fatalf("Blocked after Reset = %v, %v; want 0, nil", d, err)
	}
	for i := 1; i <= rate.N; i++ {
		if d, err := th.Hit(ctx, "k"); err != nil || d != 0 {
			t.Fatalf("Hit %d after Reset = %v, %v; want 0, nil", i, d, err)
		}
	}
}

func TestRedisThrottleWindowEnds(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	rate := chat.Rate{N: 2, Per: 300 * time.Millisecond}
	th := NewRedisThrottle(rdb, prefix+"throttle:", rate)
	start := time.Now()
	for range rate.N {
		if _, err := th.Hit(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	}
	d, err := th.Hit(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > rate.Per {
		t.Fatalf("Hit over the limit = %v, want in (0, %v]", d, rate.Per)
	}
	// The window opened at the first hit, and later hits do not stretch it.
	time.Sleep(rate.Per - time.Since(start) + 50*time.Millisecond)
	if d, err := th.Blocked(ctx, "k"); err != nil || d != 0 {
		t.Fatalf("Blocked after the window = %v, %v; want 0, nil", d, err)
	}
	if d, err := th.Hit(ctx, "k"); err != nil || d != 0 {
		t.Fatalf("Hit after the window = %v, %v; want 0, nil", d, err)
	}
}

func TestRedisThrottleSharedAcrossNodes(t *testing.T) {
	rdb1, ctx, prefix := limitsRedis(t)
	rdb2, _, _ := limitsRedis(t) // a second connection, as a second node has
	rate := chat.Rate{N: 4, Per: time.Minute}
	node1 := NewRedisThrottle(rdb1, prefix+"throttle:ip:", rate)
	node2 := NewRedisThrottle(rdb2, prefix+"throttle:ip:", rate)

	for i, th := range []*RedisThrottle{node1, node2, node1, node2} {
		if d, err := th.Hit(ctx, "10.0.0.1"); err != nil || d != 0 {
			t.Fatalf("hit %d = %v, %v; want 0, nil", i+1, d, err)
		}
	}
	if d, err := node1.Blocked(ctx, "10.0.0.1"); err != nil || d <= 0 {
		t.Fatalf("node1 Blocked after 4 hits on both nodes = %v, %v; want a wait", d, err)
	}
	if d, err := node2.Hit(ctx, "10.0.0.1"); err != nil || d <= 0 {
		t.Fatalf("node2 fifth Hit = %v, %v; want a wait", d, err)
	}
	if err := node1.Reset(ctx, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if d, err := node2.Blocked(ctx, "10.0.0.1"); err != nil || d != 0 {
		t.Fatalf("node2 Blocked after node1 Reset = %v, %v; want 0, nil", d, err)
	}
}

// TestRedisThrottleMatchesMemThrottle runs one random sequence of calls on
// a MemThrottle and a RedisThrottle, inside one window, and wants the same
// verdicts.
func TestRedisThrottleMatchesMemThrottle(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	rate := chat.Rate{N: 3, Per: time.Hour}
	mem := auth.NewMemThrottle(rate, nil)
	red := NewRedisThrottle(rdb, prefix+"throttle:", rate)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		key := "k" + strconv.Itoa(rng.IntN(3))
		var (
			op         string
			dm, dr     time.Duration
			errm, errr error
		)
		switch rng.IntN(10) {
		case 0:
			op = "Reset"
			errm, errr = mem.Reset(ctx, key), red.Reset(ctx, key)
		case 1, 2, 3:
			op = "Blocked"
			dm, errm = mem.Blocked(ctx, key)
			dr, errr = red.Blocked(ctx, key)
		default:
			op = "Hit"
			dm, errm = mem.Hit(ctx, key)
			dr, errr = red.Hit(ctx, key)
		}
		if errm != nil || errr != nil {
			t.Fatalf("call %d %s(%s): errors %v, %v", i, op, key, errm, errr)
		}
		if (dm > 0) != (dr > 0) {
			t.Fatalf("call %d %s(%s): MemThrottle wait %v, RedisThrottle wait %v", i, op, key, dm, dr)
		}
		if dr < 0 || dr > rate.Per {
			t.Fatalf("call %d %s(%s): wait %v outside [0, %v]", i, op, key, dr, rate.Per)
		}
	}
}

func TestRedisThrottleKeyWithoutExpiryGetsAWindow(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	rate := chat.Rate{N: 1, Per: time.Minute}
	th := NewRedisThrottle(rdb, prefix+"throttle:", rate)
	if err := rdb.Set(ctx, prefix+"throttle:k", 7, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := th.Hit(ctx, "k"); err != nil || d <= 0 || d > rate.Per {
		t.Fatalf("Hit on a key without expiry = %v, %v; want a wait in (0, %v]", d, err, rate.Per)
	}
	ttl, err := rdb.PTTL(ctx, prefix+"throttle:k").Result()
	if err != nil || ttl <= 0 {
		t.Fatalf("PTTL after Hit = %v, %v; want an expiry", ttl, err)
	}
}

func TestRedisThrottleOffNeverCallsRedis(t *testing.T) {
	// A dead Redis proves no call goes out: any call would fail.
	th := NewRedisThrottle(limitsDeadRedis(t), "p:throttle:", chat.Rate{})
	ctx, cancel := context.WithTimeout(context.Background(), limitsTestTimeout)
	defer cancel()
	for range 20 {
		if d, err := th.Hit(ctx, "k"); err != nil || d != 0 {
			t.Fatalf("off Hit = %v, %v; want 0, nil", d, err)
		}
	}
	if d, err := th.Blocked(ctx, "k"); err != nil || d != 0 {
		t.Fatalf("off Blocked = %v, %v; want 0, nil", d, err)
	}
	if err := th.Reset(ctx, "k"); err != nil {
		t.Fatalf("off Reset: %v", err)
	}
}

func TestRedisThrottleErrorsOnDeadRedis(t *testing.T) {
	th := NewRedisThrottle(limitsDeadRedis(t), "p:throttle:", chat.Rate{N: 1, Per: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), limitsTestTimeout)
	defer cancel()
	if _, err := th.Hit(ctx, "k"); err == nil {
		t.Error("Hit on a dead Redis: no error")
	}
	if _, err := th.Blocked(ctx, "k"); err == nil {
		t.Error("Blocked on a dead Redis: no error")
	}
	if err := th.Reset(ctx, "k"); err == nil {
		t.Error("Reset on a dead Redis: no error")
	}
}

// TestFallbackThrottleOnDeadRedis: with the shared throttle unreachable, the
// per-node fallback keeps the limit and every failure is reported.
func TestFallbackThrottleOnDeadRedis(t *testing.T) {
	rate := chat.Rate{N: 3, Per: time.Minute}
	var failures atomic.Int64
	var lastErr atomic.Value
	th := auth.NewFallbackThrottle(
		NewRedisThrottle(limitsDeadRedis(t), "p:throttle:", rate),
		auth.NewMemThrottle(rate, nil),
		func(err error) { failures.Add(1); lastErr.Store(err) },
	)
	ctx, cancel := context.WithTimeout(context.Background(), limitsTestTimeout)
	defer cancel()
	for i := 1; i <= rate.N; i++ {
		if d, err := th.Hit(ctx, "k"); err != nil || d != 0 {
			t.Fatalf("Hit %d = %v, %v; want 0, nil from the fallback", i, d, err)
		}
	}
	if d, err := th.Blocked(ctx, "k"); err != nil || d <= 0 {
		t.Fatalf("Blocked over the limit = %v, %v; want a wait from the fallback", d, err)
	}
	if d, err := th.Hit(ctx, "k"); err != nil || d <= 0 || d > rate.Per {
		t.Fatalf("Hit over the limit = %v, %v; want a wait in (0, %v]", d, err, rate.Per)
	}
	if err := th.Reset(ctx, "k"); err != nil {
		t.Fatalf("Reset = %v, want nil from the fallback", err)
	}
	if d, err := th.Blocked(ctx, "k"); err != nil || d != 0 {
		t.Fatalf("Blocked after Reset = %v, %v; want 0, nil", d, err)
	}
	if got, want := failures.Load(), int64(rate.N+4); got != want {
		t.Fatalf("onError called %d times, want %d (once per call)", got, want)
	}
	if err, _ := lastErr.Load().(error); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("onError got %v, want the Redis error", err)
	}
}

// TestFallbackThrottleUsesRedisWhenUp: with Redis up the fallback is never
// consulted, so the limit holds across nodes.
func TestFallbackThrottleUsesRedisWhenUp(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	rate := chat.Rate{N: 2, Per: time.Minute}
	mem1, mem2 := auth.NewMemThrottle(rate, nil), auth.NewMemThrottle(rate, nil)
	fail := func(err error) { t.Errorf("onError(%v) with Redis up", err) }
	node1 := auth.NewFallbackThrottle(NewRedisThrottle(rdb, prefix+"throttle:", rate), mem1, fail)
	node2 := auth.NewFallbackThrottle(NewRedisThrottle(rdb, prefix+"throttle:", rate), mem2, fail)
	if d, err := node1.Hit(ctx, "k"); err != nil || d != 0 {
		t.Fatalf("node1 Hit = %v, %v", d, err)
	}
	if d, err := node2.Hit(ctx, "k"); err != nil || d != 0 {
		t.Fatalf("node2 Hit = %v, %v", d, err)
	}
	if d, err := node1.Hit(ctx, "k"); err != nil || d <= 0 {
		t.Fatalf("third Hit across nodes = %v, %v; want a wait", d, err)
	}
	if mem1.Len() != 0 || mem2.Len() != 0 {
		t.Fatalf("fallbacks hold %d and %d keys, want none", mem1.Len(), mem2.Len())
	}
}
