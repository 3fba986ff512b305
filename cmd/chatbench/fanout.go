package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// fanout joins -members sockets to one room; the first -senders of them
// send -rate messages a second together for -duration. Every member,
// senders included, should receive every message once.
func (b *bench) fanout(ctx context.Context) (*result, error) {
	r := &result{scenario: "fanout"}
	b.addCommon(r)
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
	perSender := b.cfg.rate / float64(senders)
	interval := time.Duration(float64(time.Second) / perSender)

	before, err := b.sampleServer(ctx)
	if err != nil {
		return nil, err
	}
	cpu0 := selfCPU()
	start := time.Now()
	end := start.Add(b.cfg.duration)
	var sent, writeErrs atomic.Int64
	var wg sync.WaitGroup
	for j := range senders {
		s := p.socks[j]
		wg.Go(func() {
			var buf []byte
			// Senders start spread over one interval.
			next := start.Add(interval * time.Duration(j) / time.Duration(senders))
			for k := 0; ; k++ {
				if next.After(end) || ctx.Err() != nil {
					return
				}
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				buf = b.proto.sendFrame(buf, s, room, j, k, time.Now(), b.cfg.size)
				if err := s.write(buf); err != nil {
					writeErrs.Add(1)
					return
				}
				sent.Add(1)
				if b.proto.acksOnWrite() {
					c.acks.Add(1)
				}
				next = next.Add(interval)
			}
		})
	}
	wg.Wait()
	sendEnd := time.Now()
	// Wait for the outstanding acks and deliveries.
	drainEnd := sendEnd.Add(b.cfg.drain)
	for time.Now().Before(drainEnd) && ctx.Err() == nil {
		if c.acks.Load()+c.errs.Load() >= sent.Load() && c.delivered.Load() >= c.acks.Load()*int64(members) {
			break
		}
		time.Sleep(pollInterval)
	}
	window := time.Since(start)
	cpu1 := selfCPU()
	after, err := b.sampleServer(ctx)
	if err != nil {
		return nil, err
	}
	acked := c.acks.Load()
	delivered := c.delivered.Load()
	expected := acked * int64(members)
	serverCPU := (after.cpu - before.cpu).Seconds()

	b.addConnect(r, p)
	r.add("members", members, "")
	r.add("senders", senders, "")
	r.add("rate", b.cfg.rate, "msg/s")
	r.add("duration", b.cfg.duration, "")
	r.add("size", b.cfg.size, "bytes")
	r.add("sent", sent.Load(), "msgs")
	r.add("acked", acked, "msgs")
	r.add("unacked", max(sent.Load()-acked-c.errs.Load(), 0), "msgs")
	r.add("send_rate", float64(sent.Load())/sendEnd.Sub(start).Seconds(), "msg/s")
	r.add("expected", expected, "deliveries")
	r.add("delivered", delivered, "deliveries")
	r.add("lost", max(expected-delivered, 0), "deliveries")
	r.add("dup", c.dups.Load(), "deliveries")
	r.add("gaps", c.gaps.Load(), "seqs")
	r.add("measured", window, "")
	r.add("deliveries_per_s", float64(delivered)/window.Seconds(), "/s")
	r.add("latency_p50", c.lat.quantile(0.5), "")
	r.add("latency_p90", c.lat.quantile(0.9), "")
	r.add("latency_p99", c.lat.quantile(0.99), "")
	r.add("latency_max", c.lat.quantile(1), "")
	r.add("ack_p99", c.ackLat.quantile(0.99), "")
	r.add("server_cpu_s", serverCPU, "s")
	r.add("server_cpu_util", serverCPU/window.Seconds(), "cores")
	r.add("deliveries_per_server_cpu_s", float64(delivered)/serverCPU, "/cpu-s")
	r.add("client_cpu_s", (cpu1 - cpu0).Seconds(), "s")
	r.add("server_delivered", after.metrics[mDelivered]-before.metrics[mDelivered], "deliveries")
	r.add("slow_consumer_closes", after.metrics[mSlow]-before.metrics[mSlow], "sockets")
	r.add("dropped_by_server", p.droppedByServer(), "sockets")
	addErrors(r, writeErrs.Load(), c)
	return r, nil
}
