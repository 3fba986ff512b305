package hub

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// SessionChecker is an optional Authenticator capability: it reports which
// of the sessions of open sockets are no longer active (revoked, expired,
// unknown). A hub whose Authenticator has it checks a socket's session
// again once the socket is registered, after every broker resync and at
// least every recheckEvery, and closes the sockets of an ended session with
// 4003: no socket outlives a revocation whose word it missed (one that ran
// while the socket was being opened, or while the broker was away) by more
// than that.
type SessionChecker interface {
	InactiveSessions(ctx context.Context, sessionIDs []string) ([]string, error)
}

const (
	// recheckEvery is the longest time between two checks of the session
	// of one open socket.
	recheckEvery = 8 * time.Second
	// recheckBatch bounds the sessions asked about at once.
	recheckBatch = 500
	// recheckTimeout bounds one question about a batch of sessions.
	recheckTimeout = 5 * time.Second
)

// sessionRecheck is the sweeper's walk through the connection registry,
// checking the sessions of a few shards every tick.
type sessionRecheck struct {
	next int         // the next shard to check; owned by the sweeper
	busy atomic.Bool // a periodic check runs; the walk waits for it
}

// recheckTick starts the check of the sessions of the next shards of the
// registry, as many as make every shard checked every recheckEvery when
// called every every. The sweeper calls it each tick; while a check runs,
// the walk does not move.
func (h *Hub) recheckTick(every time.Duration) {
	if _, ok := h.opt.Auth.(SessionChecker); !ok || h.recheck.busy.Load() {
		return
	}
	per := max(1, int((int64(connShards)*int64(every)+int64(recheckEvery)-1)/int64(recheckEvery)))
	var batch []*Client
	for range min(per, connShards) {
		s := &h.connShard[h.recheck.next]
		h.recheck.next = (h.recheck.next + 1) % connShards
		s.mu.Lock()
		for c := range s.conns {
			batch = append(batch, c)
		}
		s.mu.Unlock()
	}
	if len(batch) == 0 {
		return
	}
	h.recheck.busy.Store(true)
	h.background(func() {
		defer h.recheck.busy.Store(false)
		h.recheckSessions(batch)
	})
}

// recheckSoon checks the session of a socket that was just registered: a
// revocation that ran after its token was checked found no socket to close.
func (h *Hub) recheckSoon(c *Client) {
	if _, ok := h.opt.Auth.(SessionChecker); ok {
		h.background(func() { h.recheckSessions([]*Client{c}) })
	}
}

// recheckAll checks the session of every socket, as after the broker was
// away: revocations published meanwhile never arrived.
func (h *Hub) recheckAll() {
	if _, ok := h.opt.Auth.(SessionChecker); !ok {
		return
	}
	var all []*Client
	h.forEachConn(func(c *Client) { all = append(all, c) })
	h.recheckSessions(all)
}

// recheckSessions asks which sessions of clients ended and closes their
// sockets with 4003. A session that cannot be checked (the store is away)
// keeps its sockets until the next check.
func (h *Hub) recheckSessions(clients []*Client) {
	chk, ok := h.opt.Auth.(SessionChecker)
	if !ok {
		return
	}
	bySession := make(map[string][]*Client)
	var ids []string
	for _, c := range clients {
		if _, seen := bySession[c.sessionID]; !seen {
			ids = append(ids, c.sessionID)
		}
		bySession[c.sessionID] = append(bySession[c.sessionID], c)
	}
	for len(ids) > 0 {
		n := min(len(ids), recheckBatch)
		ctx, cancel := context.WithTimeout(context.Background(), recheckTimeout)
		gone, err := chk.InactiveSessions(ctx, ids[:n])
		cancel()
		if err != nil {
			h.log.Debug("session re-check failed", "err", err)
			return
		}
		for _, id := range gone {
			for _, c := range bySession[id] {
				if c.sock.Close(chat.CloseSessionRevoked) {
					c.Logger().Info("session ended; socket closed")
				}
			}
		}
		ids = ids[n:]
	}
}
