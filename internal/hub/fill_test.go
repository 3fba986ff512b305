package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// reader empties a fake socket's queue every readEvery, as a client that
// keeps up would, and keeps the seqs of the message frames it took.
type reader struct {
	sock *fakeSocket
	mu   sync.Mutex
	seqs []int64
	bad  error
}

const readEvery = time.Millisecond

func startReader(s *fakeSocket, stop <-chan struct{}) *reader {
	rd := &reader{sock: s}
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(readEvery):
			}
			rd.take()
		}
	}()
	return rd
}

func (rd *reader) take() {
	rd.sock.mu.Lock()
	q := rd.sock.queue
	rd.sock.queue = nil
	rd.sock.cond.Broadcast()
	rd.sock.mu.Unlock()
	rd.mu.Lock()
	defer rd.mu.Unlock()
	for _, f := range q {
		var v struct {
			Type string `json:"type"`
			Seq  int64  `json:"seq"`
		}
		if err := json.Unmarshal(f.Bytes(), &v); err != nil {
			rd.bad = err
		}
		if v.Type == chat.TypeMessage {
			rd.seqs = append(rd.seqs, v.Seq)
		}
	}
}

func (rd *reader) got() []int64 {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return append([]int64(nil), rd.seqs...)
}

// storeBacklog appends n messages to room as other nodes would, without
// the hub hearing of them, and returns the one with the newest seq.
func storeBacklog(t *testing.T, h *Hub, db *store.DB, room, tag string, n int) chat.Message {
	t.Helper()
	ctx := context.Background()
	id := userID(t, h, "elsewhere")
	const writers = 16
	var (
		mu   sync.Mutex
		last chat.Message
		err  error
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				m, _, e := db.Append(ctx, chat.NewMessage{Room: room, UserID: id, Username: "elsewhere", Text: fmt.Sprint(tag, " ", i), Ref: fmt.Sprint(tag, i)})
				mu.Lock()
				if e != nil {
					err = e
				}
				if m.Seq > last.Seq {
					last = m
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// waitSeqs waits (in the bubble's time) until every reader has seq last.
func waitSeqs(t *testing.T, readers []*reader, last int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, rd := range readers {
		for {
			got := rd.got()
			if len(got) > 0 && got[len(got)-1] >= last {
				break
			}
			if rd.sock.closeCode() != 0 || time.Now().After(deadline) {
				t.Fatalf("reader has %d messages (last %v), closed with %d; want up to seq %d", len(got), got[max(0, len(got)-1):], rd.sock.closeCode(), last)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestGapFillPaced checks that a backlog of thousands of messages, read
// back from the store after the broker lost their events, reaches members
// whose queues hold a few dozen frames without closing any of them as slow
// consumers, each in seq order and gapless, while live messages go on
// arriving.
func TestGapFillPaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const queue, members, backlog, live = 32, 6, 3000, 40
		db := storetest.Open(t, "sqlite")
		m := metrics.New()
		h := testHub(t, db, Options{Metrics: m, SendQueue: queue})
		stop := make(chan struct{})
		defer close(stop)
		var cs []*fakeClient
		var readers []*reader
		for i := range members {
			c := attachLive(t, h, fmt.Sprint("member", i), queue).joinAndDrain(t, "flood")
			cs = append(cs, c)
			readers = append(readers, startReader(c.sock, stop))
		}

		last := storeBacklog(t, h, db, "flood", "backlog", backlog)
		// Only the newest event reaches this node; the gap before it is
		// read from the store.
		h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "flood", Message: &last})
		for i := range live {
			cs[i%members].do(t, send("flood", fmt.Sprint("live-", i)))
			time.Sleep(5 * time.Millisecond)
		}
		waitSeqs(t, readers, backlog+live, time.Minute)
		for i, rd := range readers {
			if rd.bad != nil {
				t.Fatal(rd.bad)
			}
			wantSeqs(t, fmt.Sprint("member ", i), rd.got(), 1, backlog+live)
		}
		if got := testutil.ToFloat64(m.WSSlowConsumerDisconnects); got != 0 {
			t.Fatalf("%v members closed as slow consumers", got)
		}
	})
}

// TestGapFillClosesDeadReader checks that a member that reads nothing is
// still closed as a slow consumer while a backlog is released, and that
// the others get all of it.
func TestGapFillClosesDeadReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const queue, backlog = 32, 1000
		db := storetest.Open(t, "sqlite")
		m := metrics.New()
		h := testHub(t, db, Options{Metrics: m, SendQueue: queue})
		stop := make(chan struct{})
		defer close(stop)
		dead := attachLive(t, h, "dead", queue).joinAndDrain(t, "flood")
		var readers []*reader
		for i := range 3 {
			c := attachLive(t, h, fmt.Sprint("reader", i), queue).joinAndDrain(t, "flood")
			readers = append(readers, startReader(c.sock, stop))
		}
		last := storeBacklog(t, h, db, "flood", "backlog", backlog)
		h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "flood", Message: &last})
		waitSeqs(t, readers, backlog, time.Minute)
		for i, rd := range readers {
			wantSeqs(t, fmt.Sprint("reader ", i), rd.got(), 1, backlog)
		}
		if got := dead.sock.closeCode(); got != chat.CloseTooSlow.Code {
			t.Fatalf("a member that reads nothing closed with %d, want %d", got, chat.CloseTooSlow.Code)
		}
		if got := testutil.ToFloat64(m.WSSlowConsumerDisconnects); got != 1 {
			t.Fatalf("slow consumers counted %v, want 1", got)
		}
	})
}

// TestGapFillNotHeldByStalledReplay checks that a member whose replay is
// stuck (its client reads nothing) holds a backlog back once, for
// fillStall, not at every step: the others get the backlog soon after, and
// the stuck member is closed as a slow consumer.
func TestGapFillNotHeldByStalledReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const queue, before, backlog = 32, 100, 1000
		db := storetest.Open(t, "sqlite")
		h := testHub(t, db, Options{SendQueue: queue})
		stop := make(chan struct{})
		defer close(stop)
		var readers []*reader
		for i := range 3 {
			c := attachLive(t, h, fmt.Sprint("reader", i), queue).joinAndDrain(t, "flood")
			readers = append(readers, startReader(c.sock, stop))
		}
		last := storeBacklog(t, h, db, "flood", "before", before)
		h.Stored(context.Background(), last)
		waitSeqs(t, readers, before, time.Minute)

		stuck := attachLive(t, h, "stuck", queue)
		var joining sync.WaitGroup
		joining.Go(func() { stuck.do(t, join("flood", 0)) }) // its replay fills its queue
		synctest.Wait()
		last = storeBacklog(t, h, db, "flood", "backlog", backlog)
		start := time.Now()
		h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "flood", Message: &last})
		waitSeqs(t, readers, before+backlog, fillStall+10*time.Second)
		t.Logf("backlog of %d released in %v", backlog, time.Since(start))
		if got := stuck.sock.closeCode(); got != chat.CloseTooSlow.Code {
			t.Fatalf("a member whose replay is stuck closed with %d, want %d", got, chat.CloseTooSlow.Code)
		}
		joining.Wait()
		for i, rd := range readers {
			wantSeqs(t, fmt.Sprint("reader ", i), rd.got(), 1, before+backlog)
		}
	})
}
