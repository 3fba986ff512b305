package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// login runs -login-workers loops of logins over the users for -duration.
func (b *bench) login(ctx context.Context) (*result, error) {
	r := b.newResult("login")
	sp, err := b.beginSpan(ctx)
	if err != nil {
		return nil, err
	}
	var lat hist
	var fails failures
	ok := b.loginLoops(ctx, sp.start.Add(b.cfg.duration), &lat, &fails)
	if err := b.endSpan(ctx, sp); err != nil {
		return nil, err
	}
	serverCPU := sp.serverCPU()
	r.add("workers", b.cfg.logins, "")
	r.add("duration", b.cfg.duration, "")
	r.add("logins", ok, "")
	r.add("failed", fails.n, "")
	r.add("logins_per_s", float64(ok)/sp.elapsed.Seconds(), "/s")
	addQuantiles(r, "latency", &lat)
	r.add("server_cpu_s", serverCPU, "s")
	r.add("server_cpu_per_login", serverCPU/float64(max(ok, 1))*1000, "ms")
	r.add("client_cpu_s", sp.clientCPU(), "s")
	if fails.first != nil {
		r.add("first_error", fails.first.Error(), "")
	}
	return r, nil
}

// loginLoops runs -login-workers loops that log the users in turn in until
// end, recording each login's latency in lat and each failure in fails,
// and returns how many logins succeeded.
func (b *bench) loginLoops(ctx context.Context, end time.Time, lat *hist, fails *failures) int64 {
	var ok, next atomic.Int64
	var wg sync.WaitGroup
	for range b.cfg.logins {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				i := int(next.Add(1)-1) % b.cfg.users
				t0 := time.Now()
				if _, err := b.loginUser(ctx, b.username(i)); err != nil {
					if ctx.Err() != nil {
						return
					}
					fails.add(err)
					continue
				}
				lat.add(time.Since(t0))
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return ok.Load()
}
