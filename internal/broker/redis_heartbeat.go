package broker

import (
	"context"
	"time"
)

// heartbeat records this node as alive and notices nodes that stopped.
func (r *Redis) heartbeat() {
	defer r.wg.Done()
	t := time.NewTicker(r.opt.heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		if err := Heartbeat(ctx, r.rdb, r.prefix, r.opt.Node); err != nil {
			cancel()
			continue
		}
		stale, err := StaleNodes(ctx, r.rdb, r.prefix, r.opt.nodeTTL)
		cancel()
		if err != nil {
			continue
		}
		r.nodesChanged(stale)
	}
}

// nodesChanged reports the nodes newly found stale to the hub.
func (r *Redis) nodesChanged(stale []string) {
	now := map[string]bool{}
	var gone []string
	for _, n := range stale {
		if n == r.opt.Node {
			continue
		}
		now[n] = true
		if !r.goneSeen[n] {
			gone = append(gone, n)
		}
	}
	r.goneSeen = now
	if len(gone) == 0 {
		return
	}
	r.log.Info("nodes stopped answering", "nodes", gone)
	r.dirtyMu.Lock()
	r.gone = append(r.gone, gone...)
	r.dirtyMu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}
