package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// histSub is the number of sub-buckets per power of two: values are kept
// within 1/histSub (about 1.6%) of their size.
const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = histSub + (64-histSubBits)*histSub
)

// hist is a lock-free log-linear histogram of durations in nanoseconds, safe
// for concurrent use.
type hist struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64
}

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1
	return histSub + e*histSub + int(v>>uint(e)) - histSub
}

// histValue is the middle of bucket i.
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := (i - histSub) / histSub
	m := uint64(i-histSub-e*histSub) + histSub
	lo := m << uint(e)
	return int64(lo + (uint64(1)<<uint(e))/2)
}

// add records d (negative durations, from clocks that disagree, count as 0).
func (h *hist) add(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[histIndex(uint64(v))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// quantile returns the q-quantile (0 < q ≤ 1); the largest value for q = 1.
func (h *hist) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max.Load())
	}
	rank := int64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// procStat is what /proc says about a process.
type procStat struct {
	rssBytes int64
	cpu      time.Duration // user + system
}

// clockTick is USER_HZ, the unit of /proc/PID/stat times; 100 on Linux.
const clockTick = 100

// readProc reads VmRSS from /proc/PID/status and utime+stime from
// /proc/PID/stat.
func readProc(pid int) (procStat, error) {
	var ps procStat
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ps, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return ps, fmt.Errorf("VmRSS %q: %w", rest, err)
				}
				ps.rssBytes = kb * 1024
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ps, err
	}
	// The command name may hold spaces and parentheses: fields count from
	// the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return ps, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return ps, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return ps, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	ps.cpu = time.Duration(ut+st) * time.Second / clockTick
	return ps, nil
}

// selfCPU returns the CPU time this process has used, user plus system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scrape fetches /metrics and returns the value of each named sample that
// has no labels (or exactly the given label set, written name{...}).
func scrape(ctx context.Context, c *http.Client, url string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: HTTP %d", resp.StatusCode)
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 64<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(val)[0], 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// Metrics the benchmark reads from the server.
const (
	mCPU       = "process_cpu_seconds_total"
	mRSS       = "process_resident_memory_bytes"
	mHeapInuse = "go_memstats_heap_inuse_bytes"
	mGoroutine = "go_goroutines"
	mDelivered = "chat_messages_delivered_total"
	mStored    = "chat_messages_stored_total"
	mConns     = "chat_ws_connections"
	mSlow      = "chat_ws_slow_consumer_disconnects_total"
	mHeapIdle  = "go_memstats_heap_idle_bytes"
	mReleased  = "go_memstats_heap_released_bytes"
	mStack     = "go_memstats_stack_inuse_bytes"
)

// serverSample is one reading of the server's cost.
type serverSample struct {
	at      time.Time
	rss     int64
	cpu     time.Duration
	metrics map[string]float64
}

// sampleServer reads the server's memory and CPU, from /proc when the pid is
// known and from /metrics otherwise, plus the service's own counters.
func (b *bench) sampleServer(ctx context.Context) (serverSample, error) {
	s := serverSample{at: time.Now()}
	// With several nodes every reading is the sum over the nodes.
	m := map[string]float64{}
	for _, u := range b.metricsAll {
		one, err := scrape(ctx, b.http, u, mCPU, mRSS, mHeapInuse, mGoroutine, mDelivered, mStored, mConns, mSlow, mHeapIdle, mReleased, mStack)
		if err != nil {
			return s, err
		}
		for k, v := range one {
			m[k] += v
		}
	}
	s.metrics = m
	pids := b.cfg.pids
	if len(pids) == 0 && b.cfg.pid > 0 {
		pids = []int{b.cfg.pid}
	}
	if len(pids) > 0 {
		for _, pid := range pids {
			ps, err := readProc(pid)
			if err != nil {
				return s, err
			}
			s.rss += ps.rssBytes
			s.cpu += ps.cpu
		}
	} else {
		s.rss = int64(m[mRSS])
		s.cpu = time.Duration(m[mCPU] * float64(time.Second))
	}
	return s, nil
}

func readFileString(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// settledSample forces a garbage collection in the server when its pprof
// listener is known (GET /debug/pprof/heap?gc=1), then reads the server's
// memory until the runtime has returned its free heap to the system (less
// than memoryQuiet of it kept) and RSS stops moving, or -settle has passed.
func (b *bench) settledSample(ctx context.Context) (serverSample, error) {
	deadline := time.Now().Add(b.cfg.settle)
	if b.cfg.pprofURL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.cfg.pprofURL+"/debug/pprof/heap?gc=1", nil)
		if err != nil {
			return serverSample{}, err
		}
		resp, err := b.http.Do(req)
		if err != nil {
			return serverSample{}, fmt.Errorf("force GC: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	prev, err := b.sampleServer(ctx)
	if err != nil {
		return prev, err
	}
	for time.Now().Before(deadline) {
		if err := sleep(ctx, memoryPoll); err != nil {
			return prev, err
		}
		cur, err := b.sampleServer(ctx)
		if err != nil {
			return cur, err
		}
		d := cur.rss - prev.rss
		prev = cur
		if d < memoryQuiet && d > -memoryQuiet && cur.unreturned() < memoryQuiet*32 {
			break
		}
	}
	return prev, nil
}

// unreturned is the free heap the Go runtime still holds (counted in RSS).
func (s serverSample) unreturned() int64 {
	return int64(s.metrics[mHeapIdle] - s.metrics[mReleased])
}

// Memory settling: a reading is taken once RSS moves less than memoryQuiet
// between two polls memoryPoll apart and the runtime keeps less than 32 ×
// memoryQuiet of free heap.
const (
	memoryPoll  = time.Second
	memoryQuiet = 256 << 10
)
