package hub

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatsvc/chat/internal/broker"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// countingStore is the store with its MarkRead calls counted.
type countingStore struct {
	*store.DB
	markReads atomic.Int64
}

func (s *countingStore) db() *store.DB { return s.DB }

func (s *countingStore) MarkRead(ctx context.Context, marks []chat.ReadMark) error {
	s.markReads.Add(1)
	return s.DB.MarkRead(ctx, marks)
}

// readHub builds a hub on db, counting its MarkRead calls, inside the
// synctest bubble and shuts it down at the end of the test.
func readHub(t *testing.T, db *store.DB, opt Options) (*Hub, *countingStore) {
	t.Helper()
	cs := &countingStore{DB: db}
	opt.Store = cs
	return testHub(t, db, opt), cs
}

// attachOn opens a socket of user on h, with a long queue and a token that
// outlives the test.
func attachOn(t testing.TB, h *Hub, user string) *fakeClient {
	t.Helper()
	return attachLive(t, h, user, 1<<12)
}

func readFrame(room string, seq int64, ref string) chat.ClientFrame {
	return chat.ClientFrame{Type: chat.TypeRead, Room: room, Seq: &seq, Ref: ref}
}

// ofType returns the frames of type typ among frames.
func ofType(frames []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, f := range frames {
		if f["type"] == typ {
			out = append(out, f)
		}
	}
	return out
}

// seqsOf returns the seq of each frame.
func seqsOf(frames []map[string]any) []int64 {
	out := make([]int64, 0, len(frames))
	for _, f := range frames {
		out = append(out, int64(f["seq"].(float64)))
	}
	return out
}

// storedMarker returns user's stored read marker in room.
func storedMarker(t *testing.T, db *store.DB, room string, c *fakeClient) int64 {
	t.Helper()
	m, err := db.Membership(context.Background(), room, c.c.UserID())
	if err != nil {
		t.Fatal(err)
	}
	return m.LastRead
}

// fill has c join room and send n messages to it.
func fill(t *testing.T, c *fakeClient, room string, n int) {
	t.Helper()
	c.do(t, join(room, -1))
	for i := range n {
		c.do(t, send(room, fmt.Sprintf("%s-%d", room, i)))
	}
}

// TestReadBatched checks that a burst of reads moves the marker on every
// socket of the user at once, the asking one with its ref, and is stored
// with far fewer writes than reads.
func TestReadBatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h, cs := readHub(t, db, Options{})
		bob := attachOn(t, h, "bob")
		fill(t, bob, "news", 50)
		a1, a2 := attachOn(t, h, "alice"), attachOn(t, h, "alice")
		a1.do(t, join("news", 0))
		a2.do(t, join("news", -1))
		a1.sock.take(t)
		a2.sock.take(t)
		// alice joined after the 50 messages: her marker starts at 50.
		bob.do(t, send("news", "late-1"))
		bob.do(t, send("news", "late-2"))
		const n = 40
		for i := range n {
			seq := int64(51 + i%2)
			a1.do(t, readFrame("news", seq, fmt.Sprint("r", i)))
		}
		synctest.Wait()
		got := ofType(a1.sock.take(t), chat.TypeRead)
		if len(got) != 2 || got[0]["ref"] != "r0" || got[1]["ref"] != "r1" || fmt.Sprint(seqsOf(got)) != "[51 52]" {
			t.Fatalf("asking socket got read frames %v, want seqs 51 and 52 with refs r0 and r1", got)
		}
		other := ofType(a2.sock.take(t), chat.TypeRead)
		if fmt.Sprint(seqsOf(other)) != "[51 52]" || other[0]["ref"] != nil {
			t.Fatalf("other socket got read frames %v, want seqs 51 and 52 without a ref", other)
		}
		for i := range n {
			b := attachOn(t, h, fmt.Sprint("reader", i))
			b.do(t, join("news", -1))
			bob.do(t, send("news", fmt.Sprint("more-", i)))
			b.do(t, readFrame("news", int64(53+i), ""))
		}
		time.Sleep(2 * readBatchWait)
		synctest.Wait()
		if calls := cs.markReads.Load(); calls > 2 {
			t.Fatalf("%d reads stored with %d MarkRead calls, want at most 2", n+2, calls)
		}
		if got := storedMarker(t, db, "news", a1); got != 52 {
			t.Fatalf("alice's stored marker is %d, want 52", got)
		}
	})
}

// TestReadForwardOnly checks that a read at or below the marker, which
// starts at the room's newest seq when the user joins, changes nothing and
// sends nothing.
func TestReadForwardOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h, cs := readHub(t, db, Options{})
		bob := attachOn(t, h, "bob")
		fill(t, bob, "club", 10)
		alice := attachOn(t, h, "alice").joinAndDrain(t, "club")
		for _, seq := range []int64{0, 8, 10} {
			alice.do(t, readFrame("club", seq, "old"))
		}
		bob.do(t, send("club", "new-1"))
		bob.do(t, send("club", "new-2"))
		alice.do(t, readFrame("club", 12, "new"))
		alice.do(t, readFrame("club", 11, "older"))
		alice.do(t, readFrame("club", 12, "same"))
		time.Sleep(2 * readBatchWait)
		synctest.Wait()
		var answers []string
		for _, f := range alice.sock.take(t) {
			if f["type"] != chat.TypeMessage {
				answers = append(answers, fmt.Sprint(f["type"], ":", f["ref"]))
			}
		}
		if fmt.Sprint(answers) != "[read:new]" {
			t.Fatalf("alice got %v, want only the read answering ref new", answers)
		}
		if got := storedMarker(t, db, "club", alice); got != 12 {
			t.Fatalf("stored marker %d, want 12", got)
		}
		if calls := cs.markReads.Load(); calls != 1 {
			t.Fatalf("%d MarkRead calls, want 1", calls)
		}
	})
}

// TestReadRefused checks the errors of a read frame: not joined on this
// socket, a malformed or negative seq, and a seq above the room's newest.
func TestReadRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h, _ := readHub(t, db, Options{})
		alice := attachOn(t, h, "alice")
		other := attachOn(t, h, "alice")
		fill(t, other, "club", 3)
		other.sock.take(t)
		alice.sock.take(t)
		alice.do(t, readFrame("club", 1, "r1"))
		alice.h.Handle(alice.c, []byte(`{"type":"read","room":"club","seq":-1,"ref":"r2"}`))
		alice.h.Handle(alice.c, []byte(`{"type":"read","room":"club","ref":"r3"}`))
		alice.do(t, join("club", -1))
		alice.do(t, readFrame("club", 4, "r4"))
		alice.do(t, readFrame("club", 1<<40, "r5"))
		synctest.Wait()
		want := []string{"r1:" + chat.CodeNotJoined, "r2:" + chat.CodeBadRequest, "r3:" + chat.CodeBadRequest,
			"r4:" + chat.CodeInvalidSince, "r5:" + chat.CodeInvalidSince}
		var got []string
		for _, f := range ofType(alice.sock.take(t), chat.TypeError) {
			if f["room"] != "club" {
				t.Errorf("error %v does not name the room", f)
			}
			got = append(got, fmt.Sprint(f["ref"], ":", f["code"]))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("errors %v, want %v", got, want)
		}
		if reads := ofType(other.sock.take(t), chat.TypeRead); len(reads) != 0 {
			t.Fatalf("refused reads told the user's other socket %v", reads)
		}
	})
}

// receiptSeqs returns the seqs of the receipts of user among frames.
func receiptSeqs(frames []map[string]any, user string) []int64 {
	var out []int64
	for _, f := range ofType(frames, chat.TypeReceipt) {
		if f["user"] == user {
			out = append(out, int64(f["seq"].(float64)))
		}
	}
	return out
}

// TestReceiptsCoalesced checks that the other members get at most one
// receipt of a user a second, the newest, and the reader's sockets none.
func TestReceiptsCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h, _ := readHub(t, db, Options{})
		alice := attachOn(t, h, "alice")
		alice.do(t, join("den", -1))
		bob, carol := attachOn(t, h, "bob"), attachOn(t, h, "carol")
		fill(t, carol, "den", 20)
		bob.do(t, join("den", -1))
		for _, c := range []*fakeClient{alice, bob, carol} {
			c.sock.take(t)
		}
		start := time.Now()
		for seq := range int64(20) {
			alice.do(t, readFrame("den", seq+1, ""))
			time.Sleep(20 * time.Millisecond)
		}
		synctest.Wait()
		if time.Since(start) >= receiptInterval {
			t.Fatal("the reads took a second")
		}
		for _, c := range []*fakeClient{bob, carol} {
			if got := receiptSeqs(c.sock.take(t), "alice"); fmt.Sprint(got) != "[1]" {
				t.Fatalf("within the first second a member got receipts %v, want [1]", got)
			}
		}
		time.Sleep(receiptInterval)
		synctest.Wait()
		for _, c := range []*fakeClient{bob, carol} {
			f := ofType(c.sock.take(t), chat.TypeReceipt)
			if len(f) != 1 || f[0]["seq"] != 20.0 || f[0]["user_id"] != alice.c.UserID() || f[0]["room"] != "den" {
				t.Fatalf("after the second a member got %v, want alice's receipt at 20", f)
			}
		}
		if got := ofType(alice.sock.take(t), chat.TypeReceipt); len(got) != 0 {
			t.Fatalf("the reader got receipts %v", got)
		}
		time.Sleep(5 * receiptInterval)
		synctest.Wait()
		if got := ofType(bob.sock.take(t), chat.TypeReceipt); len(got) != 0 {
			t.Fatalf("bob got receipts %v later, want none", got)
		}
	})
}

// TestNoReceiptsAboveLimit checks that a room with more members than
// ReceiptsMaxMembers gets no receipts, while the reader's sockets still
// get their read.
func TestNoReceiptsAboveLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h, _ := readHub(t, db, Options{ReceiptsMaxMembers: 2})
		alice := attachOn(t, h, "alice")
		alice.do(t, join("big", -1))
		bob, carol := attachOn(t, h, "bob"), attachOn(t, h, "carol")
		bob.do(t, join("big", -1))
		fill(t, carol, "big", 3)
		alice.do(t, readFrame("big", 3, "r"))
		time.Sleep(2 * receiptInterval)
		synctest.Wait()
		if got := ofType(alice.sock.take(t), chat.TypeRead); len(got) != 1 {
			t.Fatalf("alice got read frames %v, want 1", got)
		}
		for _, c := range []*fakeClient{bob, carol} {
			if got := ofType(c.sock.take(t), chat.TypeReceipt); len(got) != 0 {
				t.Fatalf("a member of a room of 3 got receipts %v with the limit at 2", got)
			}
		}
	})
}

// TestReadAcrossNodes checks, with two hubs on one in-process broker, that
// a read on one node reaches the user's socket on the other, that the
// other node's members get the receipt, and that only the reading node
// stores the marker.
func TestReadAcrossNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		mem := broker.NewMemory()
		ha, sa := readHub(t, db, Options{Broker: mem, Node: "a"})
		hb, sb := readHub(t, db, Options{Broker: mem, Node: "b"})
		defer mem.Attach(ha.HandleEvent)()
		defer mem.Attach(hb.HandleEvent)()
		onA, onB := attachOn(t, ha, "alice"), attachOn(t, hb, "alice")
		onA.do(t, join("hall", -1))
		onB.do(t, join("hall", -1))
		bob := attachOn(t, hb, "bob")
		fill(t, bob, "hall", 4)
		synctest.Wait()
		onA.sock.take(t)
		onB.sock.take(t)
		bob.sock.take(t)
		onA.do(t, readFrame("hall", 4, "x"))
		onA.do(t, readFrame("hall", 3, "y"))
		time.Sleep(2 * readBatchWait)
		synctest.Wait()
		if got := ofType(onB.sock.take(t), chat.TypeRead); len(got) != 1 || got[0]["seq"] != 4.0 || got[0]["ref"] != nil {
			t.Fatalf("alice's socket on node b got %v, want one read at 4 without a ref", got)
		}
		if got := receiptSeqs(bob.sock.take(t), "alice"); fmt.Sprint(got) != "[4]" {
			t.Fatalf("bob on node b got receipts %v, want [4]", got)
		}
		if a, b := sa.markReads.Load(), sb.markReads.Load(); a != 1 || b != 0 {
			t.Fatalf("MarkRead calls: node a %d, node b %d; want 1 and 0", a, b)
		}
		// Node b learned the marker: an older read there changes nothing.
		onB.do(t, readFrame("hall", 2, "z"))
		synctest.Wait()
		if got := onB.sock.take(t); len(got) != 0 {
			t.Fatalf("an older read on node b got %v", got)
		}
	})
}

// TestReadStoredAtShutdown checks that markers still waiting for their
// batch are stored when the hub shuts down.
func TestReadStoredAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h := New(Options{Store: db, RateMsgs: 1e6, RateBurst: 1e6})
		bob := attachOn(t, h, "bob")
		fill(t, bob, "late", 2)
		alice := attachOn(t, h, "alice")
		alice.do(t, join("late", 0))
		bob.do(t, send("late", "third"))
		alice.do(t, readFrame("late", 3, ""))
		alice.detach()
		bob.detach()
		if err := h.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := storedMarker(t, db, "late", alice); got != 3 {
			t.Fatalf("stored marker %d after shutdown, want 3", got)
		}
	})
}

// TestReadStateForgotten checks that the markers of users gone from a
// room, and spent receipt slots, are dropped from memory.
func TestReadStateForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h, _ := readHub(t, db, Options{})
		stay, gone := attachOn(t, h, "stay"), attachOn(t, h, "gone")
		fill(t, stay, "room", 2)
		gone.do(t, join("room", 0))
		stay.do(t, send("room", "x"))
		gone.do(t, readFrame("room", 3, ""))
		gone.detach()
		time.Sleep(markerIdle + readPruneEvery)
		synctest.Wait()
		h.reads.mu.Lock()
		defer h.reads.mu.Unlock()
		if _, ok := h.reads.markers[readKey{room: "room", user: gone.c.UserID()}]; ok {
			t.Error("the marker of a user who left is still kept")
		}
		if _, ok := h.reads.markers[readKey{room: "room", user: stay.c.UserID()}]; !ok {
			t.Error("the marker of a user still in the room was dropped")
		}
		if n := len(h.reads.receipts); n != 0 {
			t.Errorf("%d receipt slots kept after their interval", n)
		}
	})
}
