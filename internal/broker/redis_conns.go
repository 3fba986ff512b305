package broker

// RedisConns: the per-user socket cap (CHAT_WS_MAX_CONNS_PER_USER) across
// every node.
//
// Key layout:
//
//	<prefix>conns:<user id>   hash: field = node id, value = that node's open
//	                          sockets of the user; expires connsExpiry after
//	                          the user's last Acquire
//	<prefix>nodes             the node heartbeats (see redis_nodes.go)
//
// A user's count is the sum of the fields of nodes that are alive. Acquire
// drops the fields of nodes that are dead (no heartbeat for NodeTTL, or gone
// from the nodes set), so a crashed node's sockets stop counting about
// NodeTTL after its last heartbeat, without anyone cleaning up. Node ids are
// random per process, so a restarted node starts from nothing.

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// connsExpiry is how long a user's conns hash lives after its last Acquire,
// so that the hash of a user whose nodes all died does not stay forever.
const connsExpiry = 24 * time.Hour

// connsAcquireScript admits one more socket of a user on a node.
//
//	KEYS[1] the user's conns hash   ARGV[1] this node's id
//	KEYS[2] the nodes set           ARGV[2] the cap
//	                                ARGV[3] NodeTTL in milliseconds
//	                                ARGV[4] the hash's expiry in milliseconds
//
// The calling node is alive by definition: its heartbeat is refreshed, so it
// counts as alive to other nodes even before its first Heartbeat. Fields of
// other nodes whose heartbeat is older than NodeTTL, or missing, are
// dropped; the rest are summed, and when the sum is below the cap this
// node's field is incremented. It returns 1 when the socket is admitted, 0
// when it is not.
var connsAcquireScript = redis.NewScript(luaNow + `
local node = ARGV[1]
local cap = tonumber(ARGV[2])
local oldest = now - tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], now, node)
local fields = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #fields, 2 do
	local f = fields[i]
	local v = tonumber(fields[i + 1]) or 0
	if f == node then
		sum = sum + v
	else
		local beat = redis.call('ZSCORE', KEYS[2], f)
		if beat and tonumber(beat) >= oldest then
			sum = sum + v
		else
			redis.call('HDEL', KEYS[1], f)
		end
	end
end
if sum >= cap then
	return 0
end
redis.call('HINCRBY', KEYS[1], node, 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// connsReleaseScript takes one socket off node ARGV[1] in the conns hash
// KEYS[1], deleting the field when it reaches 0 (or below, when another node
// dropped it while this one was thought dead).
var connsReleaseScript = redis.NewScript(`
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if v <= 0 then
	redis.call('HDEL', KEYS[1], ARGV[1])
end
return v
`)

// RedisConns counts each user's open sockets across every node sharing one
// Redis; it satisfies the hub's ConnLimiter. Each node needs its own
// RedisConns with its own node id, and must call Heartbeat every
// HeartbeatInterval (Acquire also counts as one). It is safe for concurrent
// use.
type RedisConns struct {
	rdb    redis.UniversalClient
	prefix string
	node   string
	ttl    time.Duration // NodeTTL; shorter in tests

	// OnError, when set, receives the errors of Release, which cannot return
	// them. A failed Release leaves this node's count of the user one too
	// high until the node dies or the hash expires. Set it before first use.
	OnError func(error)
}

// NewRedisConns returns the RedisConns of node, with keys under prefix.
func NewRedisConns(rdb redis.UniversalClient, prefix, node string) *RedisConns {
	return &RedisConns{rdb: rdb, prefix: prefix, node: node, ttl: NodeTTL}
}

func (c *RedisConns) key(userID string) string { return c.prefix + "conns:" + userID }

// Acquire reports whether userID may open one more socket, at most max
// across all nodes, and counts it on this node when it may.
func (c *RedisConns) Acquire(ctx context.Context, userID string, max int) (bool, error) {
	ok, err := connsAcquireScript.Run(ctx, c.rdb,
		[]string{c.key(userID), nodesKey(c.prefix)},
		c.node, max, durationMillis(c.ttl), connsExpiry.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("broker: acquire connection: %w", err)
	}
	return ok == 1, nil
}

// Release takes back one socket of userID counted on this node by Acquire.
// Its error goes to OnError.
func (c *RedisConns) Release(ctx context.Context, userID string) {
	err := connsReleaseScript.Run(ctx, c.rdb, []string{c.key(userID)}, c.node).Err()
	if err != nil && c.OnError != nil {
		c.OnError(fmt.Errorf("broker: release connection: %w", err))
	}
}
