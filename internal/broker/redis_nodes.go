package broker

// Node liveness in Redis, shared by the per-user socket cap (RedisConns) and
// by presence.
//
// Key layout (prefix is CHAT_REDIS_PREFIX, "chat:" by default):
//
//	<prefix>nodes   sorted set: member = node id (random per process),
//	                score = the node's last heartbeat in unix milliseconds
//	                by the Redis server's clock (TIME)
//
// Every timestamp is taken from Redis TIME inside a Lua script, so the nodes'
// own clocks never matter. A node heartbeats every HeartbeatInterval and is
// dead after NodeTTL without one. Nothing removes a dead node on its own
// except Heartbeat, which forgets nodes silent for longer than nodeForget;
// a caller that cleans up after dead nodes lists them with StaleNodes and
// then calls RemoveNode.
//
// The scripts touch several keys (the conns hash of a user and the nodes set);
// on Redis Cluster they need a prefix with a hash tag, such as "{chat}:", so
// that every key lands in one slot. Redis 5 or later is required (scripts
// that call TIME before writing).

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Node liveness timings.
const (
	// NodeTTL is how long a node stays alive without a heartbeat.
	NodeTTL = 15 * time.Second
	// HeartbeatInterval is how often a node should call Heartbeat; a third
	// of NodeTTL, so two heartbeats can be lost before a node counts as dead.
	HeartbeatInterval = 5 * time.Second
	// nodeForget is how long a dead node stays in the nodes set before
	// Heartbeat drops it, so ids of past processes do not pile up. It
	// matches connsExpiry: no conns hash can still name such a node.
	nodeForget = 24 * time.Hour
)

// nodesKey is the sorted set of node heartbeats under prefix.
func nodesKey(prefix string) string { return prefix + "nodes" }

// luaNow is the Lua prelude that sets now to Redis's clock in unix
// milliseconds.
const luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// heartbeatScript records ARGV[1]'s heartbeat in the nodes set KEYS[1] and
// forgets the nodes silent for more than ARGV[2] milliseconds.
var heartbeatScript = redis.NewScript(luaNow + `
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[2])))
return now
`)

// aliveScript lists the nodes of KEYS[1] with a heartbeat at most ARGV[1]
// milliseconds old.
var aliveScript = redis.NewScript(luaNow + `
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`)

// staleScript lists the nodes of KEYS[1] with a heartbeat more than ARGV[1]
// milliseconds old.
var staleScript = redis.NewScript(luaNow + `
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))
`)

// Heartbeat records that node is alive now, by Redis's clock. Call it every
// HeartbeatInterval from each node.
func Heartbeat(ctx context.Context, rdb redis.UniversalClient, prefix, node string) error {
	if err := heartbeatScript.Run(ctx, rdb, []string{nodesKey(prefix)}, node, nodeForget.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("broker: heartbeat: %w", err)
	}
	return nil
}

// AliveNodes returns the nodes whose last heartbeat is at most within old,
// by Redis's clock.
func AliveNodes(ctx context.Context, rdb redis.UniversalClient, prefix string, within time.Duration) (map[string]bool, error) {
	nodes, err := aliveScript.Run(ctx, rdb, []string{nodesKey(prefix)}, durationMillis(within)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("broker: alive nodes: %w", err)
	}
	alive := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		alive[n] = true
	}
	return alive, nil
}

// StaleNodes returns the nodes whose last heartbeat is more than within old,
// by Redis's clock, so that a caller can clean up after them.
func StaleNodes(ctx context.Context, rdb redis.UniversalClient, prefix string, within time.Duration) ([]string, error) {
	nodes, err := staleScript.Run(ctx, rdb, []string{nodesKey(prefix)}, durationMillis(within)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("broker: stale nodes: %w", err)
	}
	return nodes, nil
}

// RemoveNode removes node from the nodes set. Its fields in the conns hashes
// stay until an Acquire for that user drops them, which it does for any
// node missing from the set.
func RemoveNode(ctx context.Context, rdb redis.UniversalClient, prefix, node string) error {
	if err := rdb.ZRem(ctx, nodesKey(prefix), node).Err(); err != nil {
		return fmt.Errorf("broker: remove node: %w", err)
	}
	return nil
}

// durationMillis returns d in whole milliseconds, rounded up so that a
// positive duration never becomes 0.
func durationMillis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
