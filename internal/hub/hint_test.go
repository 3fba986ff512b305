package hub

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBrokerMessageIsHint checks that a message event from the broker
// delivers what the store holds for its seq, at once and in order, and
// nothing of the event's own content: a forged text, sender or id never
// reaches a member, and a seq the store does not hold delivers nothing
// and holds back nothing after it.
func TestBrokerMessageIsHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		m := metrics.New()
		h := testHub(t, db, Options{Metrics: m})
		a := attach(t, h, "alice", 64).joinAndDrain(t, "hint")
		first := storeBacklog(t, h, db, "hint", "first", 2)
		h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "hint", Message: &first})
		synctest.Wait()
		if got := seqs(a.sock.take(t)); len(got) == 0 {
			// Delivered only after the gap fill when the broker's copy is
			// taken as content.
			time.Sleep(gapWait)
			synctest.Wait()
			t.Errorf("seqs 1-2 not delivered at once from the event of seq 2")
			a.sock.take(t)
		}

		// The next seq, announced with other words, sender and id than
		// the store holds.
		stored := storeBacklog(t, h, db, "hint", "stored", 1)
		forged := stored
		forged.ID, forged.FromID, forged.From, forged.Text = "forged-id", "mallory-id", "mallory", "forged words"
		h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "hint", Message: &forged})
		synctest.Wait()
		frames := a.sock.take(t)
		wantSeqs(t, "alice", seqs(frames), 3, 3)
		if f := frames[0]; f["text"] != stored.Text || f["from"] != stored.From || f["id"] != stored.ID {
			t.Fatalf("seq 3 delivered as %v, want the stored %+v", f, stored)
		}

		// A seq the store does not hold: nothing is delivered, and the next
		// stored message still goes out as soon as its event arrives.
		ahead := chat.Message{Room: "hint", Seq: 99, ID: "x", Text: "ahead"}
		h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "hint", Message: &ahead})
		synctest.Wait()
		if got := a.sock.take(t); len(got) != 0 {
			t.Fatalf("a seq the store does not hold delivered %v", got)
		}
		next := storeBacklog(t, h, db, "hint", "next", 1)
		h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "hint", Message: &next})
		synctest.Wait()
		wantSeqs(t, "alice", seqs(a.sock.take(t)), 4, 4)
		if got := testutil.ToFloat64(m.HintedTotal); got != 4 {
			t.Fatalf("chat_messages_broker_read_total = %v, want 4", got)
		}
	})
}

// TestBrokerHintsInterleaveWithLocal checks that messages stored on this
// node and hinted ones stored elsewhere reach a member once each, in seq
// order, whichever arrives first.
func TestBrokerHintsInterleaveWithLocal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h := testHub(t, db, Options{})
		a := attach(t, h, "alice", 1<<10).joinAndDrain(t, "mixed")
		b := attach(t, h, "bob", 1<<10).joinAndDrain(t, "mixed")
		const rounds = 20
		for i := range rounds {
			remote := storeBacklog(t, h, db, "mixed", fmt.Sprint("remote-", i), 2)
			b.do(t, send("mixed", fmt.Sprint("local-", i)))
			if i%2 == 0 {
				// The event comes late: the local message waits for the
				// hinted ones before it.
				synctest.Wait()
			}
			h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "mixed", Message: &remote})
			// A duplicate event changes nothing.
			h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "mixed", Message: &remote})
		}
		synctest.Wait()
		wantSeqs(t, "alice", seqs(a.sock.take(t)), 1, 3*rounds)
	})
}

// TestBrokerHintAfterStoreFailure checks that a hint whose store read
// fails is not lost: the gap timer reads the store again.
func TestBrokerHintAfterStoreFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		fs := &failingStore{DB: db}
		h := testHub(t, db, Options{Store: fs})
		a := attach(t, h, "alice", 64).joinAndDrain(t, "flaky")
		stored := storeBacklog(t, h, db, "flaky", "stored", 2)
		fs.failAfter.Store(true)
		h.HandleEvent(chat.Event{Kind: chat.EventMessage, Node: "n2", Room: "flaky", Message: &stored})
		synctest.Wait()
		if got := a.sock.take(t); len(got) != 0 {
			t.Fatalf("delivered %v while the store failed", got)
		}
		fs.failAfter.Store(false)
		time.Sleep(gapWait)
		synctest.Wait()
		wantSeqs(t, "alice", seqs(a.sock.take(t)), 1, 2)
	})
}

// failingStore is the real store whose After fails while failAfter is set.
type failingStore struct {
	*store.DB
	failAfter atomic.Bool
}

func (s *failingStore) db() *store.DB { return s.DB }

func (s *failingStore) After(ctx context.Context, room string, after, upTo int64, limit int) ([]chat.Message, bool, error) {
	if s.failAfter.Load() {
		return nil, false, fmt.Errorf("store unavailable")
	}
	return s.DB.After(ctx, room, after, upTo, limit)
}
