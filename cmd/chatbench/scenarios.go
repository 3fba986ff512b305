package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Timings of the scenarios.
const (
	// pollInterval is how often a scenario checks whether the deliveries
	// it waits for have arrived.
	pollInterval = 20 * time.Millisecond
	// quietBeforeSend lets the join and presence traffic of the connect
	// phase pass before the measured window starts.
	quietBeforeSend = time.Second
	// closeWait bounds the wait for the server to notice closed sockets.
	closeWait = 15 * time.Second
)

// pool is a set of open sockets.
type pool struct {
	socks       []*sock
	failed      int
	firstErr    error
	elapsed     time.Duration // connecting all of them
	connectLat  hist
	compressed  int
	joinElapsed time.Duration
}

// connectAll opens n sockets, socket i as user i%users from source i%sources,
// at most -concurrency at a time. Sockets that fail are counted, not fatal,
// unless every one fails.
func (b *bench) connectAll(ctx context.Context, n int, c *counters) (*pool, error) {
	p := &pool{}
	socks := make([]*sock, n)
	var mu sync.Mutex
	start := time.Now()
	_ = parallel(ctx, n, b.cfg.concurrency, func(ctx context.Context, i int) error {
		t0 := time.Now()
		s, err := b.connect(ctx, i, b.tokens[i%len(b.tokens)], c)
		if err != nil {
			mu.Lock()
			p.failed++
			if p.firstErr == nil {
				p.firstErr = err
			}
			mu.Unlock()
			return nil
		}
		p.connectLat.add(time.Since(t0))
		socks[i] = s
		return nil
	})
	p.elapsed = time.Since(start)
	for _, s := range socks {
		if s != nil {
			p.socks = append(p.socks, s)
			if s.compressed {
				p.compressed++
			}
		}
	}
	if err := ctx.Err(); err != nil {
		p.close()
		return nil, err
	}
	if len(p.socks) == 0 {
		return nil, fmt.Errorf("no socket connected: %v", p.firstErr)
	}
	if p.failed > 0 {
		fmt.Fprintf(b.log, "%d of %d sockets failed to connect, first: %v\n", p.failed, n, p.firstErr)
	}
	return p, nil
}

// joinAll joins socket i to room(i) and waits for every answer.
func (b *bench) joinAll(ctx context.Context, p *pool, room func(i int) string) error {
	start := time.Now()
	err := parallel(ctx, len(p.socks), b.cfg.concurrency, func(ctx context.Context, i int) error {
		return p.socks[i].join(ctx, room(i))
	})
	p.joinElapsed = time.Since(start)
	return err
}

func (p *pool) close() {
	for _, s := range p.socks {
		s.close()
	}
	for _, s := range p.socks {
		<-s.ended
	}
}

// droppedByServer counts the sockets the server closed during the run.
func (p *pool) droppedByServer() int {
	n := 0
	for _, s := range p.socks {
		if s.droppedByServer() {
			n++
		}
	}
	return n
}

// openJoined connects n sockets and joins socket i to room(i). The caller
// closes the pool with closeAndWait.
func (b *bench) openJoined(ctx context.Context, n int, c *counters, room func(i int) string) (*pool, error) {
	p, err := b.connectAll(ctx, n, c)
	if err != nil {
		return nil, err
	}
	if err := b.joinAll(ctx, p, room); err != nil {
		b.closeAndWait(ctx, p)
		return nil, err
	}
	return p, nil
}

// closeAndWait closes the pool and waits until the server counts no open
// sockets, so the next scenario starts clean.
func (b *bench) closeAndWait(ctx context.Context, p *pool) {
	p.close()
	if !b.proto.metrics() {
		return
	}
	deadline := time.Now().Add(closeWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		m, err := scrape(ctx, b.http, b.metricsURL, mConns)
		if err != nil || m[mConns] == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *bench) addConnect(r *result, p *pool) {
	r.add("sockets", len(p.socks), "")
	r.add("connect_failed", p.failed, "")
	r.add("compressed", p.compressed, "sockets")
	r.add("connects_per_s", float64(len(p.socks))/p.elapsed.Seconds(), "/s")
	r.add("connect_p50", p.connectLat.quantile(0.5), "")
	r.add("connect_p99", p.connectLat.quantile(0.99), "")
	r.add("joins_per_s", float64(len(p.socks))/p.joinElapsed.Seconds(), "/s")
}

// addErrors reports the failed writes and the error frames received.
func addErrors(r *result, writeErrs int64, c *counters) {
	r.add("write_errors", writeErrs, "")
	r.add("errors", c.errs.Load(), "")
	if e := c.errSummary(); e != "" {
		r.add("error_codes", e, "")
	}
}

func (b *bench) addCommon(r *result) {
	r.add("target", b.cfg.target, "")
	r.add("nodes", len(b.wsURLs), "")
	r.add("users", b.cfg.users, "")
	r.add("sources", b.cfg.sources, "")
	r.add("compress", b.cfg.compress, "")
	r.add("load_avg_1m", loadAvg(), "")
}

// idle opens -sockets sockets joined to -rooms rooms and reports the
// connect rate and the server's memory per socket.
func (b *bench) idle(ctx context.Context) (*result, error) {
	r := &result{scenario: "idle"}
	b.addCommon(r)
	// The setup's password hashes leave garbage: collect it first.
	base, err := b.settledSample(ctx)
	if err != nil {
		return nil, err
	}
	c := newCounters()
	rooms := b.cfg.rooms
	p, err := b.openJoined(ctx, b.cfg.sockets, c, func(i int) string { return fmt.Sprintf("idle-%s-%d", b.runID, i%rooms) })
	if err != nil {
		return nil, err
	}
	defer b.closeAndWait(ctx, p)
	after, err := b.settledSample(ctx)
	if err != nil {
		return nil, err
	}
	n := float64(len(p.socks))
	b.addConnect(r, p)
	r.add("rooms", rooms, "")
	if b.proto.rest() {
		r.add("server_open_sockets", after.metrics[mConns], "")
	}
	r.add("rss_before", float64(base.rss)/(1<<20), "MiB")
	r.add("rss_after", float64(after.rss)/(1<<20), "MiB")
	r.add("rss_per_socket", float64(after.rss-base.rss)/n/1024, "KiB")
	if b.proto.metrics() {
		// RSS less the free heap the Go runtime keeps for reuse (up to
		// GOGC's headroom, returned to the system only gradually): what
		// the sockets hold.
		r.add("rss_less_free_heap_per_socket", float64((after.rss-after.unreturned())-(base.rss-base.unreturned()))/n/1024, "KiB")
		r.add("free_heap_kept_before", float64(base.unreturned())/(1<<20), "MiB")
		r.add("free_heap_kept_after", float64(after.unreturned())/(1<<20), "MiB")
		r.add("heap_inuse_per_socket", (after.metrics[mHeapInuse]-base.metrics[mHeapInuse])/n/1024, "KiB")
		r.add("stack_inuse_per_socket", (after.metrics[mStack]-base.metrics[mStack])/n/1024, "KiB")
		r.add("goroutines_per_socket", (after.metrics[mGoroutine]-base.metrics[mGoroutine])/n, "")
	}
	r.add("memory_source", b.memorySource(), "")
	r.add("forced_gc", b.cfg.pprofURL != "", "")
	r.add("dropped_by_server", p.droppedByServer(), "sockets")
	r.add("errors", c.errs.Load(), "")
	return r, nil
}

func (b *bench) memorySource() string {
	if b.cfg.pid > 0 {
		return "/proc"
	}
	return "metrics"
}

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

// login runs -login-workers loops of logins over the users for -duration.
func (b *bench) login(ctx context.Context) (*result, error) {
	r := &result{scenario: "login"}
	b.addCommon(r)
	before, err := b.sampleServer(ctx)
	if err != nil {
		return nil, err
	}
	var lat hist
	var ok, failed atomic.Int64
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	cpu0 := selfCPU()
	start := time.Now()
	end := start.Add(b.cfg.duration)
	var wg sync.WaitGroup
	for range b.cfg.logins {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				i := int(next.Add(1)-1) % b.cfg.users
				t0 := time.Now()
				_, err := b.loginUser(ctx, b.username(i))
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				lat.add(time.Since(t0))
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1 := selfCPU()
	after, err := b.sampleServer(ctx)
	if err != nil {
		return nil, err
	}
	serverCPU := (after.cpu - before.cpu).Seconds()
	r.add("workers", b.cfg.logins, "")
	r.add("duration", b.cfg.duration, "")
	r.add("logins", ok.Load(), "")
	r.add("failed", failed.Load(), "")
	r.add("logins_per_s", float64(ok.Load())/elapsed.Seconds(), "/s")
	r.add("latency_p50", lat.quantile(0.5), "")
	r.add("latency_p90", lat.quantile(0.9), "")
	r.add("latency_p99", lat.quantile(0.99), "")
	r.add("latency_max", lat.quantile(1), "")
	r.add("server_cpu_s", serverCPU, "s")
	r.add("server_cpu_per_login", serverCPU/float64(max(ok.Load(), 1))*1000, "ms")
	r.add("client_cpu_s", (cpu1 - cpu0).Seconds(), "s")
	if firstErr != nil {
		r.add("first_error", firstErr.Error(), "")
	}
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loadAvg returns the one-minute load average, 0 when unknown: the machine
// may be shared, and a loaded machine measures less.
func loadAvg() float64 {
	var v float64
	if b, err := readFileString("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscan(strings.Fields(b)[0], &v)
	}
	return v
}
