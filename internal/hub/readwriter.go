package hub

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Timings and sizes of the read-marker writer.
const (
	// readBatchWait is how long the writer gathers read markers after the
	// first one before it stores them: a burst of reads costs one write.
	// With the write itself it stays well under the second in which
	// GET /api/v1/me/rooms must reflect a read.
	readBatchWait = 200 * time.Millisecond
	// readRetryWait is how long the writer waits after a failed write
	// before it tries the markers again.
	readRetryWait = time.Second
	// readPruneEvery is how often forgotten markers and spent receipts are
	// dropped from memory.
	readPruneEvery = time.Minute
	// maxReadBatch bounds the markers stored in one MarkRead call.
	maxReadBatch = 1000
)

// readWriter stores read markers in batches: one goroutine, started by
// New and stopped by Shutdown, gathers the markers queued for
// readBatchWait, keeping the highest seq per user and room, and stores
// them with one MarkRead call. A failed write is retried, merged with what
// came meanwhile, until it succeeds or the hub shuts down. Its mu is a
// leaf.
type readWriter struct {
	h     *Hub
	prune func() // run now and then on the writer's goroutine

	mu      sync.Mutex
	pending map[readKey]int64
	failing bool // the last write failed; logged once per outage

	wake chan struct{} // a marker was queued
	quit chan struct{} // closed by stop
	done chan struct{} // closed when run returns
	once sync.Once
}

func newReadWriter(h *Hub, prune func()) *readWriter {
	return &readWriter{
		h:       h,
		prune:   prune,
		pending: make(map[readKey]int64),
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// queue asks for k's marker to be stored at seq; a higher one queued
// already wins. It never blocks.
func (w *readWriter) queue(k readKey, seq int64) {
	w.mu.Lock()
	if seq > w.pending[k] {
		w.pending[k] = seq
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// stop stores what is queued, once more, and waits for run to return.
func (w *readWriter) stop() {
	w.once.Do(func() { close(w.quit) })
	<-w.done
}

// run is the writer's goroutine.
func (w *readWriter) run() {
	defer close(w.done)
	prune := time.NewTicker(readPruneEvery)
	defer prune.Stop()
	for {
		select {
		case <-w.quit:
			w.last()
			return
		case <-prune.C:
			w.prune()
		case <-w.wake:
			if !w.pause(readBatchWait) {
				w.last()
				return
			}
			for !w.flush() {
				if !w.pause(readRetryWait) {
					w.last()
					return
				}
			}
		}
	}
}

// pause waits for d and reports false when stop came first.
func (w *readWriter) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.quit:
		return false
	}
}

// last stores what is queued at shutdown, once, and logs what is lost
// when that fails.
func (w *readWriter) last() {
	if w.flush() {
		return
	}
	w.mu.Lock()
	n := len(w.pending)
	w.mu.Unlock()
	w.h.log.Error("read markers not stored at shutdown", "markers", n)
}

// flush stores every queued marker and reports whether it succeeded. On
// failure the markers are queued again, under any higher ones queued
// meanwhile.
func (w *readWriter) flush() bool {
	w.mu.Lock()
	if len(w.pending) == 0 {
		w.mu.Unlock()
		return true
	}
	batch := w.pending
	w.pending = make(map[readKey]int64)
	w.mu.Unlock()

	marks := make([]chat.ReadMark, 0, len(batch))
	for k, seq := range batch {
		marks = append(marks, chat.ReadMark{Room: k.room, UserID: k.user, Seq: seq})
	}
	// One order on every node, so concurrent batches never wait on each
	// other's rows in opposite orders.
	slices.SortFunc(marks, func(a, b chat.ReadMark) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room), cmp.Compare(a.UserID, b.UserID))
	})
	for len(marks) > 0 {
		n := min(len(marks), maxReadBatch)
		if err := w.store(marks[:n]); err != nil {
			w.requeue(marks, err)
			return false
		}
		marks = marks[n:]
	}
	w.mu.Lock()
	if w.failing {
		w.failing = false
		w.h.log.Info("read markers stored again")
	}
	w.mu.Unlock()
	return true
}

func (w *readWriter) store(marks []chat.ReadMark) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return w.h.opt.Store.MarkRead(ctx, marks)
}

// requeue queues marks again after a failed write and logs the first
// failure of an outage.
func (w *readWriter) requeue(marks []chat.ReadMark, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range marks {
		k := readKey{room: m.Room, user: m.UserID}
		if m.Seq > w.pending[k] {
			w.pending[k] = m.Seq
		}
	}
	if !w.failing {
		w.failing = true
		w.h.log.Error("store read markers failed; retrying", "markers", len(marks), "err", err)
	}
}
