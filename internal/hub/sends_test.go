package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// gatedStore is the real store whose submitted appends are stored at once
// but answered only once the gate opens: a commit that takes its time.
type gatedStore struct {
	*store.DB
	gate chan struct{}
}

func (s *gatedStore) db() *store.DB { return s.DB }

func (s *gatedStore) Submit(ctx context.Context, m chat.NewMessage) (chat.PendingAppend, error) {
	p, err := s.DB.Submit(ctx, m)
	if err != nil {
		return nil, err
	}
	return gatedPending{p, s.gate}, nil
}

type gatedPending struct {
	chat.PendingAppend
	gate chan struct{}
}

func (p gatedPending) Wait(ctx context.Context) (chat.Message, bool, error) {
	<-p.gate
	return p.PendingAppend.Wait(ctx)
}

// outcomes returns the type and ref of every ack, error and left frame.
func outcomes(frames []map[string]any) []string {
	var out []string
	for _, f := range frames {
		switch f["type"] {
		case chat.TypeAck, chat.TypeError, chat.TypeLeft:
			out = append(out, fmt.Sprint(f["type"], ":", f["ref"]))
		}
	}
	return out
}

// TestSendsInFlight checks that a socket's reader goes on reading while
// its sends wait for their commit, that their outcomes (acks and errors
// alike) are answered in the order of the frames with seqs in that
// order, and that any other frame is answered only after them.
func TestSendsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		gs := &gatedStore{DB: db, gate: make(chan struct{})}
		h := testHub(t, db, Options{Store: gs})
		a := attach(t, h, "alice", 256).joinAndDrain(t, "pipe")
		var want []string
		for i := range 6 {
			ref := fmt.Sprint("s", i)
			f := send("pipe", ref)
			switch i {
			case 2:
				f = send("elsewhere", ref) // not joined: an error in its place
				want = append(want, "error:"+ref)
			case 4:
				f.Text = new(string) // empty: an error in its place
				want = append(want, "error:"+ref)
			default:
				want = append(want, "ack:"+ref)
			}
			a.doAsync(t, f) // returns with the commit still unanswered
		}
		left := make(chan struct{})
		go func() {
			defer close(left)
			a.doAsync(t, chat.ClientFrame{Type: chat.TypeLeave, Room: "pipe", Ref: "bye"})
		}()
		synctest.Wait()
		if got := outcomes(a.sock.take(t)); len(got) != 0 {
			t.Fatalf("answered %v before the first commit", got)
		}
		close(gs.gate)
		<-left
		synctest.Wait()
		frames := a.sock.take(t)
		got := outcomes(frames)
		want = append(want, "left:bye")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("outcomes %v, want %v", got, want)
		}
		var last float64
		for _, f := range frames {
			if f["type"] == chat.TypeAck {
				if seq := f["seq"].(float64); seq <= last {
					t.Fatalf("ack %v after seq %v", f, last)
				} else {
					last = seq
				}
			}
		}
	})
}

// TestSendsInFlightBounded checks that the reader waits once
// maxSendsInFlight sends of its socket are unanswered.
func TestSendsInFlightBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		gs := &gatedStore{DB: db, gate: make(chan struct{})}
		h := testHub(t, db, Options{Store: gs})
		a := attach(t, h, "alice", 256)
		a.do(t, join("bound", -1))
		var n sync.WaitGroup
		read := 0
		var mu sync.Mutex
		n.Go(func() {
			for i := range maxSendsInFlight + 2 {
				a.doAsync(t, send("bound", fmt.Sprint("s", i)))
				mu.Lock()
				read++
				mu.Unlock()
			}
		})
		synctest.Wait()
		mu.Lock()
		// The first send starts the acker; maxSendsInFlight more wait
		// behind it.
		if read != maxSendsInFlight+1 {
			t.Errorf("the reader took %d sends with none answered, want %d", read, maxSendsInFlight+1)
		}
		mu.Unlock()
		close(gs.gate)
		n.Wait()
		a.c.settleSends()
		if got := len(seqs(a.sock.take(t))); got != maxSendsInFlight+2 {
			t.Fatalf("delivered %d messages, want %d", got, maxSendsInFlight+2)
		}
	})
}

// TestShutdownAnswersSendsInFlight checks that a socket closed by
// shutdown gets the acks of its sends in flight before the 1001.
func TestShutdownAnswersSendsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		gs := &gatedStore{DB: db, gate: make(chan struct{})}
		h := New(Options{Store: gs, RateMsgs: 1e6, RateBurst: 1e6})
		a := attach(t, h, "alice", 256).joinAndDrain(t, "away")
		for i := range 3 {
			a.doAsync(t, send("away", fmt.Sprint("s", i)))
		}
		done := make(chan error)
		go func() { done <- h.Shutdown(context.Background()) }()
		synctest.Wait()
		if code := a.sock.closeCode(); code != 0 {
			t.Fatalf("closed with %d while sends were in flight", code)
		}
		close(gs.gate)
		synctest.Wait()
		if code := a.sock.closeCode(); code != chat.CloseGoingAway.Code {
			t.Fatalf("closed with %d, want %d", code, chat.CloseGoingAway.Code)
		}
		if got := outcomes(a.sock.take(t)); fmt.Sprint(got) != "[ack:s0 ack:s1 ack:s2]" {
			t.Fatalf("outcomes before the close %v", got)
		}
		a.detach()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
