package hub

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// roomHub builds a hub on a real store, holding room name ready at seq 0.
// It is called inside the synctest bubble; stopHub ends both.
func roomHub(t testing.TB, opt Options, name string) (*Hub, *room) {
	t.Helper()
	h := New(opt)
	r := h.getRoom(name)
	r.mu.Lock()
	r.setLastLocked(0)
	r.mu.Unlock()
	return h, r
}

func stopHub(t testing.TB, h *Hub, r *room) {
	t.Helper()
	h.releaseRoom(r)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

func (r *room) lastSeq() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// TestGapFilledUnderTraffic checks that a message whose broker event was lost
// is read from the store gapWait after the gap was seen, while later
// messages keep arriving faster than that: traffic must not postpone it.
func TestGapFilledUnderTraffic(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	u, err := db.CreateUser(ctx, "bob", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EnsureRoom(ctx, "gap"); err != nil {
		t.Fatal(err)
	}
	const n = 40
	msgs := make([]chat.Message, 0, n)
	for i := range n {
		m, _, err := db.Append(ctx, chat.NewMessage{Room: "gap", UserID: u.ID, Username: "bob", Text: fmt.Sprint(i), Ref: fmt.Sprint("r", i)})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	synctest.Test(t, func(t *testing.T) {
		h, r := roomHub(t, Options{Store: db}, "gap")
		defer stopHub(t, h, r)
		const every = 40 * time.Millisecond
		start := time.Now()
		for i, m := range msgs {
			if i == 1 {
				continue // the event of seq 2 is lost
			}
			r.deliver(m)
			time.Sleep(every)
			synctest.Wait()
			if r.lastSeq() >= 2 {
				break
			}
		}
		if got := r.lastSeq(); got < 2 {
			t.Fatalf("seq 2 still missing after %s of traffic every %s", time.Since(start), every)
		}
		if d := time.Since(start); d > gapWait+2*every {
			t.Fatalf("gap filled after %s, want within %s", d, gapWait+2*every)
		}
	})
}

// TestStashBounded checks that early messages from the broker, however many
// and however far ahead, are held in a bounded stash.
func TestStashBounded(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	synctest.Test(t, func(t *testing.T) {
		h, r := roomHub(t, Options{Store: db}, "stash")
		defer stopHub(t, h, r)
		tests := []struct {
			name string
			seqs func(i int) int64
		}{
			{"far ahead", func(i int) int64 { return 1 << 40 }},
			{"many", func(i int) int64 { return int64(2 + i) }},
		}
		for _, tt := range tests {
			for i := range 5 * maxStash {
				r.deliver(chat.Message{Room: "stash", Seq: tt.seqs(i) + int64(i)})
			}
			r.mu.Lock()
			got := len(r.stash)
			r.mu.Unlock()
			if got > maxStash {
				t.Fatalf("%s: stash holds %d messages, want at most %d", tt.name, got, maxStash)
			}
			synctest.Wait() // let the gap fill (an empty store) end
		}
	})
}

// TestRemotePresenceBounded checks that presence events from other nodes
// cannot grow a room's record of remote users without bound.
func TestRemotePresenceBounded(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	synctest.Test(t, func(t *testing.T) {
		h, r := roomHub(t, Options{Store: db, PresenceMaxMembers: 10}, "crowd")
		defer stopHub(t, h, r)
		for i := range 10 * maxMembersListed {
			h.HandleEvent(chat.Event{Kind: chat.EventPresence, Node: "n1", Room: "crowd", UserID: fmt.Sprint("u", i), Username: "x", Presence: chat.PresenceJoin})
		}
		for i := range 10 * maxRemoteNodes {
			h.HandleEvent(chat.Event{Kind: chat.EventPresence, Node: fmt.Sprint("node", i), Room: "crowd", UserID: "u0", Username: "x", Presence: chat.PresenceJoin})
		}
		r.mu.Lock()
		users, nodes := len(r.remote), len(r.remote["u0"])
		r.mu.Unlock()
		if users > h.maxRemoteUsers() || nodes > maxRemoteNodes {
			t.Fatalf("%d remote users (max %d), %d nodes for one user (max %d)", users, h.maxRemoteUsers(), nodes, maxRemoteNodes)
		}
		if users < h.maxRemoteUsers() {
			t.Fatalf("%d remote users recorded, want the first %d", users, h.maxRemoteUsers())
		}
	})
}
