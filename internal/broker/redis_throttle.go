package broker

// RedisThrottle: the login and registration throttles shared by every node.
//
// Key layout: one string per throttled key,
//
//	<key><caller key>   integer: events in the current window; the key's
//	                    expiry (PTTL) is the time left in the window
//
// where <key> is the throttle's own prefix, e.g. "chat:throttle:login:", and
// <caller key> is what the auth service counts by (a client IP, or a
// username and IP). The window opens at the first event, when the expiry is
// set, and closes when Redis expires the key; nothing else cleans up.

import (
	"context"
	"fmt"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/redis/go-redis/v9"
)

// throttleHitScript counts one event for KEYS[1] against the limit of
// ARGV[1] events per ARGV[2] milliseconds. It returns 0 when the event is
// within the limit, or else the milliseconds left in the window (at least 1).
// A key found without an expiry (set by hand) gets a fresh window.
var throttleHitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
	ttl = tonumber(ARGV[2])
	redis.call('PEXPIRE', KEYS[1], ttl)
end
if n > tonumber(ARGV[1]) then
	if ttl < 1 then ttl = 1 end
	return ttl
end
return 0
`)

// throttleBlockedScript returns the milliseconds left in the window of
// KEYS[1] when it already holds ARGV[1] events, or else 0. It writes nothing.
var throttleBlockedScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if not n or n < tonumber(ARGV[1]) then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 1 then return 0 end
return ttl
`)

// RedisThrottle is an auth.Throttle kept in Redis, so that a limit holds
// across every node sharing that Redis. It has the fixed-window semantics of
// auth.MemThrottle: the window opens at a key's first event and lasts
// Rate.Per; the (N+1)th event inside it is over the limit, and the key waits
// until the window closes. Each call is one script, one round trip. With a
// Rate that is off it never blocks and never calls Redis. It is safe for
// concurrent use.
type RedisThrottle struct {
	rdb  redis.UniversalClient
	key  string
	rate chat.Rate
}

// NewRedisThrottle returns a RedisThrottle limiting each caller key to r.
// key is the full prefix of its Redis keys, such as prefix+"throttle:login:";
// throttles with different limits need different prefixes.
func NewRedisThrottle(rdb redis.UniversalClient, key string, r chat.Rate) *RedisThrottle {
	return &RedisThrottle{rdb: rdb, key: key, rate: r}
}

// Blocked implements auth.Throttle.
func (t *RedisThrottle) Blocked(ctx context.Context, key string) (time.Duration, error) {
	if t.rate.Off() {
		return 0, nil
	}
	ms, err := throttleBlockedScript.Run(ctx, t.rdb, []string{t.key + key}, t.rate.N).Int64()
	if err != nil {
		return 0, fmt.Errorf("broker: throttle blocked: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Hit implements auth.Throttle.
func (t *RedisThrottle) Hit(ctx context.Context, key string) (time.Duration, error) {
	if t.rate.Off() {
		return 0, nil
	}
	ms, err := throttleHitScript.Run(ctx, t.rdb, []string{t.key + key}, t.rate.N, durationMillis(t.rate.Per)).Int64()
	if err != nil {
		return 0, fmt.Errorf("broker: throttle hit: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Reset implements auth.Throttle.
func (t *RedisThrottle) Reset(ctx context.Context, key string) error {
	if t.rate.Off() {
		return nil
	}
	if err := t.rdb.Del(ctx, t.key+key).Err(); err != nil {
		return fmt.Errorf("broker: throttle reset: %w", err)
	}
	return nil
}
