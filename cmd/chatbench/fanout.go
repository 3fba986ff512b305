package main

import (
	"context"
	"sync"
	"time"
)

// fanout joins -members sockets to one room; the first -senders of them
// send -rate messages a second together for -duration. Every member,
// senders included, should receive every message once.
func (b *bench) fanout(ctx context.Context) (*result, error) {
	r := b.newResult("fanout")
	c := newCounters()
	room := "fanout-" + b.runID
	p, err := b.openJoined(ctx, b.cfg.members, c, func(int) string { return room })
	if err != nil {
		return nil, err
	}
	defer b.closeAndWait(ctx, p)
	if err := sleep(ctx, quietBeforeSend); err != nil {
		return nil, err
	}
	members := len(p.socks)
	senders := min(b.cfg.senders, members)
	sp, err := b.beginSpan(ctx)
	if err != nil {
		return nil, err
	}
	n := b.paceSenders(ctx, p.socks[:senders], room, sp.start, c)
	// Wait for the outstanding acks and deliveries.
	waitUntil(ctx, b.cfg.drain, func() bool {
		return c.acks.Load()+c.errs.Load() >= n.sent.Load() && c.delivered.Load() >= c.acks.Load()*int64(members)
	})
	if err := b.endSpan(ctx, sp); err != nil {
		return nil, err
	}
	b.addConnect(r, p)
	b.addFanout(r, members, senders, n, c, sp)
	r.add("dropped_by_server", p.droppedByServer(), "sockets")
	addErrors(r, n.writeErrs.Load(), c)
	return r, nil
}

// paceSenders has socks send -rate messages a second to room together,
// from start for -duration, each starting at its own point of one interval,
// and returns once every one has stopped.
func (b *bench) paceSenders(ctx context.Context, socks []*sock, room string, start time.Time, c *counters) *sends {
	senders := len(socks)
	perSender := b.cfg.rate / float64(senders)
	interval := time.Duration(float64(time.Second) / perSender)
	end := start.Add(b.cfg.duration)
	n := &sends{}
	var wg sync.WaitGroup
	for j, s := range socks {
		wg.Go(func() {
			var buf []byte
			next := start.Add(interval * time.Duration(j) / time.Duration(senders))
			for k := 0; ; k++ {
				if next.After(end) || ctx.Err() != nil {
					return
				}
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				buf = b.proto.sendFrame(buf, s, room, j, k, time.Now(), b.cfg.size)
				if !n.write(s, buf) {
					return
				}
				if b.proto.acksOnWrite() {
					c.acks.Add(1)
				}
				next = next.Add(interval)
			}
		})
	}
	wg.Wait()
	n.ended = time.Now()
	return n
}

// addFanout reports what the members received of what the senders sent,
// how late, and what it cost the server.
func (b *bench) addFanout(r *result, members, senders int, n *sends, c *counters, sp *span) {
	acked := c.acks.Load()
	delivered := c.delivered.Load()
	expected := acked * int64(members)
	serverCPU := sp.serverCPU()
	r.add("members", members, "")
	r.add("senders", senders, "")
	r.add("rate", b.cfg.rate, "msg/s")
	b.addSends(r, n, acked, c)
	r.add("send_rate", float64(n.sent.Load())/n.ended.Sub(sp.start).Seconds(), "msg/s")
	r.add("expected", expected, "deliveries")
	r.add("delivered", delivered, "deliveries")
	r.add("lost", max(expected-delivered, 0), "deliveries")
	r.add("dup", c.dups.Load(), "deliveries")
	r.add("gaps", c.gaps.Load(), "seqs")
	r.add("measured", sp.elapsed, "")
	r.add("deliveries_per_s", float64(delivered)/sp.elapsed.Seconds(), "/s")
	addQuantiles(r, "latency", &c.lat)
	r.add("ack_p99", c.ackLat.quantile(0.99), "")
	r.add("server_cpu_s", serverCPU, "s")
	r.add("server_cpu_util", serverCPU/sp.elapsed.Seconds(), "cores")
	r.add("deliveries_per_server_cpu_s", float64(delivered)/serverCPU, "/cpu-s")
	r.add("client_cpu_s", sp.clientCPU(), "s")
	r.add("server_delivered", sp.grew(mDelivered), "deliveries")
	r.add("slow_consumer_closes", sp.grew(mSlow), "sockets")
}
