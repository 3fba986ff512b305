package main

import (
	"context"
	"fmt"
	"strings"
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
)

// span is a scenario's measured window: the wall time, this process's CPU
// and the server's readings from its start to its end.
type span struct {
	start         time.Time
	elapsed       time.Duration
	cpu0, cpu1    time.Duration
	before, after serverSample
}

// beginSpan samples the server, then starts the clocks.
func (b *bench) beginSpan(ctx context.Context) (*span, error) {
	before, err := b.sampleServer(ctx)
	if err != nil {
		return nil, err
	}
	return &span{before: before, cpu0: selfCPU(), start: time.Now()}, nil
}

// endSpan stops the clocks, then samples the server again.
func (b *bench) endSpan(ctx context.Context, sp *span) error {
	sp.elapsed = time.Since(sp.start)
	sp.cpu1 = selfCPU()
	after, err := b.sampleServer(ctx)
	if err != nil {
		return err
	}
	sp.after = after
	return nil
}

// serverCPU is the CPU the server spent in the span, in seconds.
func (sp *span) serverCPU() float64 { return (sp.after.cpu - sp.before.cpu).Seconds() }

// clientCPU is the CPU this process spent in the span, in seconds.
func (sp *span) clientCPU() float64 { return (sp.cpu1 - sp.cpu0).Seconds() }

// grew is how much the server's metric name grew in the span.
func (sp *span) grew(name string) float64 { return sp.after.metrics[name] - sp.before.metrics[name] }

// sends counts the frames a scenario's senders write.
type sends struct {
	sent, writeErrs atomic.Int64
	ended           time.Time // when the last sender stopped
}

// write writes frame on s and counts it; it reports whether the sender may
// go on.
func (n *sends) write(s *sock, frame []byte) bool {
	if err := s.write(frame); err != nil {
		n.writeErrs.Add(1)
		return false
	}
	n.sent.Add(1)
	return true
}

// addSends reports the length of the run, the message size and how many of
// the messages sent were acked (acked of them).
func (b *bench) addSends(r *result, n *sends, acked int64, c *counters) {
	r.add("duration", b.cfg.duration, "")
	r.add("size", b.cfg.size, "bytes")
	r.add("sent", n.sent.Load(), "msgs")
	r.add("acked", acked, "msgs")
	r.add("unacked", max(n.sent.Load()-acked-c.errs.Load(), 0), "msgs")
}

// addQuantiles reports h's 50th, 90th and 99th percentiles and maximum as
// name_p50, name_p90, name_p99 and name_max.
func addQuantiles(r *result, name string, h *hist) {
	r.add(name+"_p50", h.quantile(0.5), "")
	r.add(name+"_p90", h.quantile(0.9), "")
	r.add(name+"_p99", h.quantile(0.99), "")
	r.add(name+"_max", h.quantile(1), "")
}

// addErrors reports the failed writes and the error frames received.
func addErrors(r *result, writeErrs int64, c *counters) {
	r.add("write_errors", writeErrs, "")
	r.add("errors", c.errs.Load(), "")
	if e := c.errSummary(); e != "" {
		r.add("error_codes", e, "")
	}
}

// newResult starts scenario name's result with the settings every scenario
// reports.
func (b *bench) newResult(name string) *result {
	r := &result{scenario: name}
	r.add("target", b.cfg.target, "")
	r.add("nodes", len(b.wsURLs), "")
	r.add("users", b.cfg.users, "")
	r.add("sources", b.cfg.sources, "")
	r.add("compress", b.cfg.compress, "")
	r.add("load_avg_1m", loadAvg(), "")
	return r
}

// waitUntil checks done every pollInterval until it reports true, d has
// passed or ctx is done.
func waitUntil(ctx context.Context, d time.Duration, done func() bool) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil && !done() {
		time.Sleep(pollInterval)
	}
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
