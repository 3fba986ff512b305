package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatsvc/chat/internal/broker"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testHub builds a hub on db (or on opt.Store, when set) inside the
// synctest bubble and shuts it down at the end of the test.
func testHub(t *testing.T, db *store.DB, opt Options) *Hub {
	t.Helper()
	if opt.Store == nil {
		opt.Store = db
	}
	if opt.RateMsgs == 0 {
		opt.RateMsgs, opt.RateBurst = 1e6, 1e6
	}
	h := New(opt)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return h
}

// seqs returns the seqs of the message frames among frames.
func seqs(frames []map[string]any) []int64 {
	var out []int64
	for _, f := range frames {
		if f["type"] == chat.TypeMessage {
			out = append(out, int64(f["seq"].(float64)))
		}
	}
	return out
}

// wantSeqs fails unless got is exactly from..to in order.
func wantSeqs(t *testing.T, who string, got []int64, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from+1 {
		t.Fatalf("%s got %d messages, want %d: %v", who, len(got), to-from+1, got)
	}
	for i, s := range got {
		if s != from+int64(i) {
			t.Fatalf("%s got seq %d at %d, want %d: %v", who, s, i, from+int64(i), got)
		}
	}
}

func send(room, text string) chat.ClientFrame {
	t := text
	return chat.ClientFrame{Type: chat.TypeSend, Room: room, Text: &t, Ref: text}
}

func join(room string, since int64) chat.ClientFrame {
	f := chat.ClientFrame{Type: chat.TypeJoin, Room: room}
	if since >= 0 {
		f.Since = &since
	}
	return f
}

// TestOrderingConcurrentSenders checks that every member of a room gets
// every message once, in seq order, while several sockets send at once.
func TestOrderingConcurrentSenders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h := testHub(t, db, Options{})
		const senders, each = 4, 25
		var cs []*fakeClient
		for i := range senders + 2 {
			c := attach(t, h, fmt.Sprint("u", i), 1<<12)
			c.do(t, join("order", -1))
			cs = append(cs, c)
		}
		var wg sync.WaitGroup
		for i := range senders {
			wg.Go(func() {
				for j := range each {
					cs[i].do(t, send("order", fmt.Sprintf("m-%d-%d", i, j)))
				}
			})
		}
		wg.Wait()
		synctest.Wait()
		for i, c := range cs {
			wantSeqs(t, fmt.Sprint("member ", i), seqs(c.sock.take(t)), 1, senders*each)
		}
	})
}

// TestGapFilledAfterLostEvent checks that messages another node stored,
// whose broker events were lost, are read from the store and delivered in
// order, before a later message stored on this node, within gapWait.
func TestGapFilledAfterLostEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h := testHub(t, db, Options{})
		a := attach(t, h, "alice", 64)
		a.do(t, join("gap", -1))
		stored := storeBacklog(t, h, db, "gap", "other", 3)
		// Another node stored seqs 1 and 2 and its events were lost; this
		// node stored seq 3.
		h.Stored(context.Background(), stored)
		synctest.Wait()
		if got := seqs(a.sock.take(t)); len(got) != 0 {
			t.Fatalf("delivered %v before the gap was filled", got)
		}
		time.Sleep(gapWait)
		synctest.Wait()
		wantSeqs(t, "alice", seqs(a.sock.take(t)), 1, 3)
	})
}

// TestReplayToLive checks that a socket joining with since while others
// send gets every message once and in order: the replay from the store,
// then the live messages held back meanwhile.
func TestReplayToLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h := testHub(t, db, Options{})
		b := attach(t, h, "bob", 1<<12)
		b.do(t, join("handoff", -1))
		const before, during = 40, 40
		for i := range before {
			b.do(t, send("handoff", fmt.Sprint("before-", i)))
		}
		a := attach(t, h, "alice", 1<<12)
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range during {
				b.do(t, send("handoff", fmt.Sprint("during-", i)))
			}
		})
		a.do(t, join("handoff", 0))
		wg.Wait()
		synctest.Wait()
		frames := a.sock.take(t)
		wantSeqs(t, "alice", seqs(frames), 1, before+during)
		var joined map[string]any
		for _, f := range frames {
			if f["type"] == chat.TypeJoined {
				joined = f
			}
		}
		if joined == nil || int64(joined["replayed"].(float64)) < before {
			t.Fatalf("joined = %v, want at least %d replayed", joined, before)
		}
	})
}

// TestSlowMemberClosed checks that a member whose queue is full is closed
// with 4008 and counted once, while the others get every message and the
// sender is not held up.
func TestSlowMemberClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		m := metrics.New()
		h := testHub(t, db, Options{Metrics: m})
		slow := attach(t, h, "slow", 8).joinAndDrain(t, "busy")
		fast := attach(t, h, "fast", 1<<12)
		fast.do(t, join("busy", -1))
		const n = 30
		for i := range n {
			fast.do(t, send("busy", fmt.Sprint("m", i)))
		}
		synctest.Wait()
		if got := slow.sock.closeCode(); got != chat.CloseTooSlow.Code {
			t.Fatalf("slow member closed with %d, want %d", got, chat.CloseTooSlow.Code)
		}
		if got := testutil.ToFloat64(m.WSSlowConsumerDisconnects); got != 1 {
			t.Fatalf("slow consumers counted %v, want 1", got)
		}
		wantSeqs(t, "fast", seqs(fast.sock.take(t)), 1, n)
	})
}

// meetingBroker is the in-process broker with a meeting point: the first
// presence event of each of two nodes is held until the other node's is
// published too, so two hubs publish for one room at the same moment.
type meetingBroker struct {
	*broker.Memory
	mu   sync.Mutex
	seen map[string]bool
	meet sync.WaitGroup
}

func newMeetingBroker() *meetingBroker {
	b := &meetingBroker{Memory: broker.NewMemory(), seen: make(map[string]bool)}
	b.meet.Add(2)
	return b
}

func (b *meetingBroker) Publish(ctx context.Context, ev chat.Event) error {
	if ev.Kind == chat.EventPresence {
		b.mu.Lock()
		first := !b.seen[ev.Node]
		b.seen[ev.Node] = true
		b.mu.Unlock()
		if first {
			b.meet.Done()
			b.meet.Wait()
		}
	}
	return b.Memory.Publish(ctx, ev)
}

// TestPresenceAcrossNodes checks, with two hubs on one in-process broker,
// that joins to one room on both at the same moment end (neither hub
// publishes presence holding its room's lock, which the other hub's
// delivery takes), and that a user's joins and leaves on one node reach
// the other in order.
func TestPresenceAcrossNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		mem := newMeetingBroker()
		ha := testHub(t, db, Options{Broker: mem, Node: "a"})
		hb := testHub(t, db, Options{Broker: mem, Node: "b"})
		defer mem.Attach(ha.HandleEvent)()
		defer mem.Attach(hb.HandleEvent)()

		ca := attach(t, ha, "ann", 1<<12)
		cb := attach(t, hb, "ben", 1<<12)
		var wg sync.WaitGroup
		wg.Go(func() { ca.do(t, join("lobby", -1)) })
		wg.Go(func() { cb.do(t, join("lobby", -1)) })
		wg.Wait()

		watcher := attach(t, hb, "watcher", 1<<12)
		watcher.do(t, join("lobby", -1))
		x := attach(t, ha, "x", 1<<12)
		var want []string
		for range 5 {
			x.do(t, join("lobby", -1))
			x.do(t, chat.ClientFrame{Type: chat.TypeLeave, Room: "lobby"})
			want = append(want, chat.PresenceJoin, chat.PresenceLeave)
		}
		synctest.Wait()
		var got []string
		for _, f := range watcher.sock.take(t) {
			if f["type"] == chat.TypePresence && f["user"] == "x" {
				got = append(got, f["event"].(string))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("watcher on the other node saw %v, want %v", got, want)
		}
	})
}
