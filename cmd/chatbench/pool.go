package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// closeWait bounds the wait for the server to notice closed sockets.
const closeWait = 15 * time.Second

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

// failures counts the errors of concurrent workers and keeps the first.
// Read n and first once the workers are done.
type failures struct {
	mu    sync.Mutex
	n     int
	first error
}

func (f *failures) add(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.first == nil {
		f.first = err
	}
}

// connectAll opens n sockets, socket i as user i%users from source i%sources,
// at most -concurrency at a time. Sockets that fail are counted, not fatal,
// unless every one fails.
func (b *bench) connectAll(ctx context.Context, n int, c *counters) (*pool, error) {
	p := &pool{}
	socks := make([]*sock, n)
	var fails failures
	start := time.Now()
	_ = parallel(ctx, n, b.cfg.concurrency, func(ctx context.Context, i int) error {
		t0 := time.Now()
		s, err := b.connect(ctx, i, b.tokens[i%len(b.tokens)], c)
		if err != nil {
			fails.add(err)
			return nil
		}
		p.connectLat.add(time.Since(t0))
		socks[i] = s
		return nil
	})
	p.elapsed = time.Since(start)
	p.failed, p.firstErr = fails.n, fails.first
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
