package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// limitsTestTimeout bounds each test against Redis.
const limitsTestTimeout = 20 * time.Second

// limitsRedis connects to CHAT_TEST_REDIS_URL, skipping the test when it is
// unset, and returns the client, a context bounded by limitsTestTimeout and
// a key prefix unique to the test. Every key under the prefix is deleted when
// the test ends.
func limitsRedis(tb testing.TB) (redis.UniversalClient, context.Context, string) {
	tb.Helper()
	url := os.Getenv("CHAT_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("CHAT_TEST_REDIS_URL is not set; set it (e.g. redis://127.0.0.1:6379/0) to run the Redis tests")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("CHAT_TEST_REDIS_URL: %v", err)
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.WriteTimeout = 2 * time.Second
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), limitsTestTimeout)
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "chattest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		defer rdb.Close()
		defer cancel()
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		iter := rdb.Scan(cctx, 0, prefix+"*", 100).Iterator()
		var keys []string
		for iter.Next(cctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("scan %s*: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := rdb.Del(cctx, keys...).Err(); err != nil {
				tb.Errorf("delete test keys: %v", err)
			}
		}
	})
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redis at CHAT_TEST_REDIS_URL: %v", err)
	}
	return rdb, ctx, prefix
}

// limitsDeadRedis returns a client of an address where nothing listens,
// with short timeouts and no retries, so that every call fails fast.
func limitsDeadRedis(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr:         "127.0.0.1:1",
		DialTimeout:  200 * time.Millisecond,
		ReadTimeout:  200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond,
		MaxRetries:   -1,
		// One dial attempt per call: the default retries add a second
		// or so to each failing call.
		DialerRetries: 1,
	})
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// limitsRedisNow returns Redis's clock in unix milliseconds.
func limitsRedisNow(tb testing.TB, ctx context.Context, rdb redis.UniversalClient) int64 {
	tb.Helper()
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		tb.Fatalf("TIME: %v", err)
	}
	return now.UnixMilli()
}

func sortedNodes(m map[string]bool) []string {
	var ks []string
	for k, v := range m {
		if v {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func TestHeartbeatUsesRedisClockInMillis(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	before := limitsRedisNow(t, ctx, rdb)
	if err := Heartbeat(ctx, rdb, prefix, "n1"); err != nil {
		t.Fatal(err)
	}
	after := limitsRedisNow(t, ctx, rdb)
	score, err := rdb.ZScore(ctx, prefix+"nodes", "n1").Result()
	if err != nil {
		t.Fatalf("ZSCORE: %v", err)
	}
	if int64(score) < before || int64(score) > after {
		t.Fatalf("heartbeat score %d, want Redis time in ms between %d and %d", int64(score), before, after)
	}
}

func TestAliveAndStaleNodes(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	const within = 300 * time.Millisecond

	for _, n := range []string{"a", "b"} {
		if err := Heartbeat(ctx, rdb, prefix, n); err != nil {
			t.Fatal(err)
		}
	}
	check := func(wantAlive, wantStale []string) {
		t.Helper()
		alive, err := AliveNodes(ctx, rdb, prefix, within)
		if err != nil {
			t.Fatal(err)
		}
		stale, err := StaleNodes(ctx, rdb, prefix, within)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(stale)
		if got := sortedNodes(alive); !slices.Equal(got, wantAlive) {
			t.Errorf("AliveNodes = %v, want %v", got, wantAlive)
		}
		if !slices.Equal(stale, wantStale) {
			t.Errorf("StaleNodes = %v, want %v", stale, wantStale)
		}
	}
	check([]string{"a", "b"}, nil)

	// a keeps beating, b stops.
	deadline := time.Now().Add(within + 200*time.Millisecond)
	for time.Now().Before(deadline) {
		if err := Heartbeat(ctx, rdb, prefix, "a"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	check([]string{"a"}, []string{"b"})

	// A longer within still sees b alive.
	alive, err := AliveNodes(ctx, rdb, prefix, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedNodes(alive); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("AliveNodes(1m) = %v, want [a b]", got)
	}

	if err := RemoveNode(ctx, rdb, prefix, "b"); err != nil {
		t.Fatal(err)
	}
	check([]string{"a"}, nil)

	// b beating again comes back.
	if err := Heartbeat(ctx, rdb, prefix, "b"); err != nil {
		t.Fatal(err)
	}
	check([]string{"a", "b"}, nil)
}

func TestHeartbeatForgetsLongDeadNodes(t *testing.T) {
	rdb, ctx, prefix := limitsRedis(t)
	now := limitsRedisNow(t, ctx, rdb)
	old := []redis.Z{
		{Score: float64(now - nodeForget.Milliseconds() - time.Hour.Milliseconds()), Member: "ancient"},
		{Score: float64(now - time.Hour.Milliseconds()), Member: "recent"},
	}
	if err := rdb.ZAdd(ctx, prefix+"nodes", old...).Err(); err != nil {
		t.Fatal(err)
	}
	if err := Heartbeat(ctx, rdb, prefix, "a"); err != nil {
		t.Fatal(err)
	}
	stale, err := StaleNodes(ctx, rdb, prefix, NodeTTL)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stale, []string{"recent"}) {
		t.Fatalf("StaleNodes after Heartbeat = %v, want [recent] (ancient forgotten)", stale)
	}
}

func TestNodesOnDeadRedis(t *testing.T) {
	rdb := limitsDeadRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), limitsTestTimeout)
	defer cancel()
	if err := Heartbeat(ctx, rdb, "p:", "a"); err == nil {
		t.Error("Heartbeat on a dead Redis: no error")
	}
	if _, err := AliveNodes(ctx, rdb, "p:", NodeTTL); err == nil {
		t.Error("AliveNodes on a dead Redis: no error")
	}
	if _, err := StaleNodes(ctx, rdb, "p:", NodeTTL); err == nil {
		t.Error("StaleNodes on a dead Redis: no error")
	}
	if err := RemoveNode(ctx, rdb, "p:", "a"); err == nil {
		t.Error("RemoveNode on a dead Redis: no error")
	}
}

func TestDurationMillis(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int64
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Nanosecond, 1},
		{time.Millisecond, 1},
		{time.Millisecond + 1, 2},
		{time.Minute, 60000},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in.String()), func(t *testing.T) {
			if got := durationMillis(tt.in); got != tt.want {
				t.Fatalf("durationMillis(%v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
