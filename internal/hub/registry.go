package hub

import (
	"context"
	"hash/maphash"
	"slices"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

func (h *Hub) userShard(userID string) *connSet {
	return &h.connShard[maphash.String(h.seed, userID)%connShards]
}

func (h *Hub) addConn(c *Client) {
	s := h.userShard(c.userID)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.byUser[c.userID] = append(s.byUser[c.userID], c)
	s.mu.Unlock()
}

func (h *Hub) removeConn(c *Client) {
	s := h.userShard(c.userID)
	s.mu.Lock()
	delete(s.conns, c)
	l := s.byUser[c.userID]
	if i := slices.Index(l, c); i >= 0 {
		l = slices.Delete(l, i, i+1)
	}
	if len(l) == 0 {
		delete(s.byUser, c.userID)
	} else {
		s.byUser[c.userID] = l
	}
	s.mu.Unlock()
}

// forUser calls f for every open connection of userID on this node,
// without walking the others.
func (h *Hub) forUser(userID string, f func(*Client)) {
	s := h.userShard(userID)
	s.mu.Lock()
	l := slices.Clone(s.byUser[userID])
	s.mu.Unlock()
	for _, c := range l {
		f(c)
	}
}

// forEachConn calls f for every open connection, one shard at a time.
func (h *Hub) forEachConn(f func(*Client)) {
	var batch []*Client
	for i := range h.connShard {
		s := &h.connShard[i]
		s.mu.Lock()
		batch = batch[:0]
		for c := range s.conns {
			batch = append(batch, c)
		}
		s.mu.Unlock()
		for _, c := range batch {
			f(c)
		}
	}
}

// AcquireUser counts one more socket of user, refusing past the cap. The
// count is shared by every node when a ConnLimiter is set; while it cannot
// be reached the cap holds per node (shared reports which count was used).
func (h *Hub) AcquireUser(ctx context.Context, userID string) (shared, ok bool) {
	if h.opt.Conns != nil {
		ok, err := h.opt.Conns.Acquire(ctx, userID, h.opt.MaxConnsPerUser)
		if err == nil {
			if h.connsDown.Swap(false) {
				h.log.Info("shared socket count restored")
			}
			return true, ok
		}
		if !h.connsDown.Swap(true) {
			h.log.Warn("shared socket count unreachable; the per-user cap holds per node until it returns", "err", err)
		}
	}
	h.usersMu.Lock()
	defer h.usersMu.Unlock()
	if h.users[userID] >= h.opt.MaxConnsPerUser {
		return false, false
	}
	h.users[userID]++
	return false, true
}

// ReleaseUser gives back a socket counted by AcquireUser.
func (h *Hub) ReleaseUser(userID string, shared bool) {
	if shared {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		h.opt.Conns.Release(ctx, userID)
		cancel()
		return
	}
	h.usersMu.Lock()
	if n := h.users[userID] - 1; n > 0 {
		h.users[userID] = n
	} else {
		delete(h.users, userID)
	}
	h.usersMu.Unlock()
}

// sweep pings sockets, closes the silent ones and those whose token expired.
func (h *Hub) sweep() {
	defer h.sweeper.Done()
	every := min(sweepInterval, (h.opt.PingInterval+h.opt.PongTimeout)/8)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		now := h.opt.Now()
		nowNano := now.UnixNano()
		dead := int64(h.opt.PingInterval + h.opt.PongTimeout)
		ping := int64(h.opt.PingInterval)
		h.forEachConn(func(c *Client) {
			last := c.lastRead.Load()
			switch {
			case nowNano-last > dead:
				c.sock.TimedOut()
			case nowNano > c.expires.Load():
				c.sock.Close(chat.CloseTokenExpired)
			case nowNano-c.lastPing.Load() >= ping:
				c.lastPing.Store(nowNano)
				c.sock.Ping()
			}
		})
		h.recheckTick(every)
	}
}
