package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// send runs -senders sockets, each in its own room, each keeping -window
// sends in flight for -duration, and reports acknowledged (stored)
// messages a second and the ack latency.
func (b *bench) send(ctx context.Context) (*result, error) {
	r := b.newResult("send")
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
	sp, err := b.beginSpan(ctx)
	if err != nil {
		return nil, err
	}
	n := b.windowSenders(ctx, p.socks, roomOf, sp.start)
	waitUntil(ctx, b.cfg.drain, func() bool { return c.acks.Load()+c.errs.Load() >= n.sent.Load() })
	if err := b.endSpan(ctx, sp); err != nil {
		return nil, err
	}
	acked := c.acks.Load()
	b.addConnect(r, p)
	r.add("senders", len(p.socks), "")
	r.add("in_flight", b.cfg.window, "per sender")
	b.addSends(r, n, acked, c)
	r.add("server_stored", sp.grew(mStored), "msgs")
	r.add("acked_per_s", float64(acked)/sp.elapsed.Seconds(), "/s")
	addQuantiles(r, "ack", &c.ackLat)
	r.add("server_cpu_s", sp.serverCPU(), "s")
	r.add("client_cpu_s", sp.clientCPU(), "s")
	addErrors(r, n.writeErrs.Load(), c)
	return r, nil
}

// windowSenders has socket j send to roomOf(j) from start for -duration,
// each socket as fast as its window of unacked sends lets it, and returns
// once every one has stopped.
func (b *bench) windowSenders(ctx context.Context, socks []*sock, roomOf func(int) string, start time.Time) *sends {
	end := start.Add(b.cfg.duration)
	n := &sends{}
	var wg sync.WaitGroup
	for j, s := range socks {
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
				if !n.write(s, buf) {
					return
				}
			}
		})
	}
	wg.Wait()
	n.ended = time.Now()
	return n
}
