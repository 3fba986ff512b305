package main

import (
	"context"
	"fmt"
	"strings"
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
)

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
