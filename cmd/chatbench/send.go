package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// send runs -senders sockets, each in its own room, each keeping -window
// sends in flight for -duration, and reports acknowledged (stored)
// messages a second and the ack latency.
func (b *bench) send(ctx context.Context) (*result, error) {
	r := &result{scenario: "send"}
	b.addCommon(r)
	c := newCounters()
	roomOf := func(i int) string { return fmt.Sprintf("send-%s-%d", b.runID, i) }
	p, err := b.openJoined(ctx, b.cfg.senders, c, roomOf)
	if err != nil {
		return nil, err
	}
	defer b.closeAndWait(ctx, p)
	for _, s := range p.socks {
		s.window = make(chan struct{}, b.cfg.window)
	}
	before, err := b.sampleServer(ctx)
	if err != nil {
		return nil, err
	}
	cpu0 := selfCPU()
	start := time.Now()
	end := start.Add(b.cfg.duration)
	var sent, writeErrs atomic.Int64
	var wg sync.WaitGroup
	for j, s := range p.socks {
		wg.Go(func() {
			var buf []byte
			room := roomOf(j)
			t := time.NewTimer(time.Until(end))
			defer t.Stop()
			for k := 0; ; k++ {
				select {
				case s.window <- struct{}{}:
				case <-t.C:
					return
				case <-s.ended:
					return
				case <-ctx.Done():
					return
				}
				if time.Now().After(end) {
					return
				}
				buf = sendFrame(buf, room, j, k, time.Now(), b.cfg.size)
				if err := s.write(buf); err != nil {
					writeErrs.Add(1)
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	drainEnd := time.Now().Add(b.cfg.drain)
	for time.Now().Before(drainEnd) && ctx.Err() == nil && c.acks.Load()+c.errs.Load() < sent.Load() {
		time.Sleep(pollInterval)
	}
	window := time.Since(start)
	cpu1 := selfCPU()
	after, err := b.sampleServer(ctx)
	if err != nil {
		return nil, err
	}
	serverCPU := (after.cpu - before.cpu).Seconds()
	acked := c.acks.Load()
	b.addConnect(r, p)
	r.add("senders", len(p.socks), "")
	r.add("in_flight", b.cfg.window, "per sender")
	r.add("duration", b.cfg.duration, "")
	r.add("size", b.cfg.size, "bytes")
	r.add("sent", sent.Load(), "msgs")
	r.add("acked", acked, "msgs")
	r.add("unacked", max(sent.Load()-acked-c.errs.Load(), 0), "msgs")
	r.add("server_stored", after.metrics[mStored]-before.metrics[mStored], "msgs")
	r.add("acked_per_s", float64(acked)/window.Seconds(), "/s")
	r.add("ack_p50", c.ackLat.quantile(0.5), "")
	r.add("ack_p90", c.ackLat.quantile(0.9), "")
	r.add("ack_p99", c.ackLat.quantile(0.99), "")
	r.add("ack_max", c.ackLat.quantile(1), "")
	r.add("server_cpu_s", serverCPU, "s")
	r.add("client_cpu_s", (cpu1 - cpu0).Seconds(), "s")
	addErrors(r, writeErrs.Load(), c)
	return r, nil
}
