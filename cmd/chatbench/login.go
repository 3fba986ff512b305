package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

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
