package main

import (
	"context"
	"fmt"
)

// idle opens -sockets sockets joined to -rooms rooms and reports the
// connect rate and the server's memory per socket.
func (b *bench) idle(ctx context.Context) (*result, error) {
	r := b.newResult("idle")
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
	b.addConnect(r, p)
	r.add("rooms", rooms, "")
	if b.proto.rest() {
		r.add("server_open_sockets", after.metrics[mConns], "")
	}
	b.addMemory(r, base, after, float64(len(p.socks)))
	r.add("memory_source", b.memorySource(), "")
	r.add("forced_gc", b.cfg.pprofURL != "", "")
	r.add("dropped_by_server", p.droppedByServer(), "sockets")
	r.add("errors", c.errs.Load(), "")
	return r, nil
}

// addMemory reports the server's memory before and after n sockets opened,
// and what each of them holds.
func (b *bench) addMemory(r *result, base, after serverSample, n float64) {
	r.add("rss_before", float64(base.rss)/(1<<20), "MiB")
	r.add("rss_after", float64(after.rss)/(1<<20), "MiB")
	r.add("rss_per_socket", float64(after.rss-base.rss)/n/1024, "KiB")
	if !b.proto.metrics() {
		return
	}
	// RSS less the free heap the Go runtime keeps for reuse (up to GOGC's
	// headroom, returned to the system only gradually): what the sockets
	// hold.
	r.add("rss_less_free_heap_per_socket", float64((after.rss-after.unreturned())-(base.rss-base.unreturned()))/n/1024, "KiB")
	r.add("free_heap_kept_before", float64(base.unreturned())/(1<<20), "MiB")
	r.add("free_heap_kept_after", float64(after.unreturned())/(1<<20), "MiB")
	r.add("heap_inuse_per_socket", (after.metrics[mHeapInuse]-base.metrics[mHeapInuse])/n/1024, "KiB")
	r.add("stack_inuse_per_socket", (after.metrics[mStack]-base.metrics[mStack])/n/1024, "KiB")
	r.add("goroutines_per_socket", (after.metrics[mGoroutine]-base.metrics[mGoroutine])/n, "")
}

func (b *bench) memorySource() string {
	if b.cfg.pid > 0 {
		return "/proc"
	}
	return "metrics"
}
