package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

func seqs(msgs []chat.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func seqRange(from, to int64) []int64 {
	out := []int64{}
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestAppend(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		before := time.Now().Truncate(time.Millisecond)
		m1 := mustAppend(t, db, chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: "  hello\n", Ref: "r1"})
		after := time.Now()
		if m1.Room != chat.DefaultRoom || m1.Seq != 1 || m1.ID == "" || m1.FromID != u.ID || m1.From != "alice" || m1.Text != "  hello\n" {
			t.Errorf("Append = %+v", m1)
		}
		if m1.TS.Before(before) || m1.TS.After(after) || m1.TS.Location() != time.UTC || m1.TS.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("TS = %v, want a UTC millisecond time in [%v, %v]", m1.TS, before, after)
		}
		m2 := mustAppend(t, db, chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: "no ref"})
		if m2.Seq != 2 || m2.ID <= m1.ID {
			t.Errorf("second Append = %+v, want seq 2 and a later id than %q", m2, m1.ID)
		}
		// Messages without a ref are never duplicates of each other.
		m3 := mustAppend(t, db, chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: "no ref"})
		if m3.Seq != 3 {
			t.Errorf("third Append seq = %d, want 3", m3.Seq)
		}

		got, more, err := db.History(ctx, chat.DefaultRoom, 0, 10)
		if err != nil || more {
			t.Fatalf("History = %v, %v", more, err)
		}
		if len(got) != 3 || got[0] != m1 || got[1] != m2 || got[2] != m3 {
			t.Errorf("History = %+v, want %+v", got, []chat.Message{m1, m2, m3})
		}
		r, err := db.Room(ctx, chat.DefaultRoom)
		if err != nil || r.LastSeq != 3 {
			t.Errorf("Room = %+v, %v; want last_seq 3", r, err)
		}

		// An unknown room is not found and consumes no seq anywhere.
		if _, _, err := db.Append(ctx, send(u, "nowhere", "x")); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("Append to unknown room: err = %v, want ErrNotFound", err)
		}
		if m := mustAppend(t, db, send(u, chat.DefaultRoom, "y")); m.Seq != 4 {
			t.Errorf("seq after failed append = %d, want 4", m.Seq)
		}
	})
}

func TestAppendIdempotent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice := mustUser(t, db, "alice")
		bob := mustUser(t, db, "bob")
		mustRoom(t, db, "other")
		m := chat.NewMessage{Room: chat.DefaultRoom, UserID: alice.ID, Username: alice.Username, Text: "hi", Ref: "ref-1"}
		first := mustAppend(t, db, m)

		again, dup, err := db.Append(ctx, m)
		if err != nil || !dup {
			t.Fatalf("resend: dup = %v, err = %v; want dup", dup, err)
		}
		if again != first {
			t.Errorf("resend = %+v, want the stored %+v", again, first)
		}

		tests := []struct {
			name string
			m    chat.NewMessage
		}{
			{"other text", chat.NewMessage{Room: chat.DefaultRoom, UserID: alice.ID, Username: alice.Username, Text: "hi!", Ref: "ref-1"}},
			{"other room", chat.NewMessage{Room: "other", UserID: alice.ID, Username: alice.Username, Text: "hi", Ref: "ref-1"}},
			{"unknown room", chat.NewMessage{Room: "nowhere", UserID: alice.ID, Username: alice.Username, Text: "hi", Ref: "ref-1"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if _, _, err := db.Append(ctx, tt.m); !errors.Is(err, chat.ErrRefConflict) {
					t.Errorf("err = %v, want ErrRefConflict", err)
				}
			})
		}

		// Refs are per user.
		b := mustAppend(t, db, chat.NewMessage{Room: chat.DefaultRoom, UserID: bob.ID, Username: bob.Username, Text: "hi", Ref: "ref-1"})
		if b.Seq != 2 || b.FromID != bob.ID {
			t.Errorf("bob's message = %+v, want seq 2 from bob", b)
		}
		msgs, _, err := db.History(ctx, chat.DefaultRoom, 0, 100)
		if err != nil || len(msgs) != 2 {
			t.Errorf("History = %d messages, %v; want 2", len(msgs), err)
		}
		if o, _ := db.Room(ctx, "other"); o.LastSeq != 0 {
			t.Errorf("room other last_seq = %d, want 0", o.LastSeq)
		}
	})
}

func TestAppendSameRefConcurrently(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		const n = 40
		type result struct {
			msg chat.Message
			dup bool
			err error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				text := "same"
				if i%4 == 3 {
					text = "different " + strconv.Itoa(i)
				}
				msg, dup, err := db.Append(ctx, chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: text, Ref: "shared"})
				results[i] = result{msg, dup, err}
			})
		}
		wg.Wait()
		msgs, _, err := db.History(ctx, chat.DefaultRoom, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 {
			t.Fatalf("stored %d messages, want exactly 1", len(msgs))
		}
		first := msgs[0]
		var fresh int
		for i, r := range results {
			switch {
			case r.err != nil:
				if !errors.Is(r.err, chat.ErrRefConflict) || textOf(i) == first.Text {
					t.Errorf("send %d (%q): err = %v", i, textOf(i), r.err)
				}
			case r.msg != first:
				t.Errorf("send %d = %+v, want the stored %+v", i, r.msg, first)
			case !r.dup:
				fresh++
			case textOf(i) != first.Text:
				t.Errorf("send %d with text %q is a dup of %q", i, textOf(i), first.Text)
			}
		}
		if fresh != 1 {
			t.Errorf("%d sends stored a message, want 1", fresh)
		}
	})
}

func textOf(i int) string {
	if i%4 == 3 {
		return "different " + strconv.Itoa(i)
	}
	return "same"
}

// appendMany sends perWorker messages from each of workers goroutines,
// spread over rooms, and returns every acknowledged message.
func appendMany(t *testing.T, dbs []*store.DB, u chat.User, rooms []string, workers, perWorker int) []chat.Message {
	t.Helper()
	ctx := testCtx(t)
	var (
		mu   sync.Mutex
		acks []chat.Message
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			db := dbs[w%len(dbs)]
			for i := range perWorker {
				m := chat.NewMessage{
					Room: rooms[(w+i)%len(rooms)], UserID: u.ID, Username: u.Username,
					Text: fmt.Sprintf("w%d-%d", w, i), Ref: fmt.Sprintf("w%d-%d", w, i),
				}
				msg, dup, err := db.Append(ctx, m)
				if err != nil || dup {
					t.Errorf("Append(%s): dup = %v, err = %v", m.Ref, dup, err)
					return
				}
				mu.Lock()
				acks = append(acks, msg)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return acks
}

// checkGapless checks that the acknowledged messages of each room have the
// seqs 1..N, that the store returns exactly them, and that last_seq is N.
func checkGapless(t *testing.T, db *store.DB, rooms []string, acks []chat.Message) {
	t.Helper()
	ctx := testCtx(t)
	ids := make(map[string]bool)
	byRoom := make(map[string][]chat.Message)
	for _, m := range acks {
		if ids[m.ID] {
			t.Errorf("id %s acknowledged twice", m.ID)
		}
		ids[m.ID] = true
		byRoom[m.Room] = append(byRoom[m.Room], m)
	}
	for _, room := range rooms {
		acked := byRoom[room]
		slices.SortFunc(acked, func(a, b chat.Message) int { return int(a.Seq - b.Seq) })
		n := int64(len(acked))
		if got := seqs(acked); !slices.Equal(got, seqRange(1, n)) {
			t.Errorf("room %s: acknowledged seqs %v, want 1..%d", room, got, n)
		}
		stored, truncated, err := db.After(ctx, room, 0, 0, len(acks)+1)
		if err != nil || truncated {
			t.Fatalf("After(%s) = %v, %v", room, truncated, err)
		}
		if len(stored) != len(acked) {
			t.Errorf("room %s: %d stored, %d acknowledged", room, len(stored), len(acked))
			continue
		}
		for i := range stored {
			if stored[i] != acked[i] {
				t.Errorf("room %s: stored %+v, acknowledged %+v", room, stored[i], acked[i])
				break
			}
		}
		r, err := db.Room(ctx, room)
		if err != nil || r.LastSeq != n {
			t.Errorf("room %s: last_seq = %d, %v; want %d", room, r.LastSeq, err, n)
		}
	}
}

func TestAppendConcurrent(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			m := metrics.New()
			db := mustOpen(t, storetest.URL(t, d), store.Options{Metrics: m, BatchMax: 64})
			t.Cleanup(func() { db.Close() })
			u := mustUser(t, db, "alice")
			rooms := []string{"r1", "r2", "r3"}
			for _, r := range rooms {
				mustRoom(t, db, r)
			}
			acks := appendMany(t, []*store.DB{db}, u, rooms, 50, 20)
			if len(acks) != 1000 {
				t.Fatalf("%d acknowledged, want 1000", len(acks))
			}
			checkGapless(t, db, rooms, acks)
			if got := testutil.ToFloat64(m.MessagesStored); got != 1000 {
				t.Errorf("chat_messages_stored_total = %v, want 1000", got)
			}
			// The histogram counts transactions and sums their messages.
			if c, s := histogram(t, m); s != 1000 || c < 16 || c > 1000 {
				t.Errorf("batch histogram count %v sum %v: want sum 1000 in 16 to 1000 batches of at most 64", c, s)
			} else {
				t.Logf("%v messages in %v transactions", s, c)
			}
		})
	}
}

// histogram returns the sample count and sum of chat_store_batch_messages.
func histogram(t *testing.T, m *metrics.Metrics) (count, sum float64) {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "chat_store_batch_messages" {
			h := mf.GetMetric()[0].GetHistogram()
			return float64(h.GetSampleCount()), h.GetSampleSum()
		}
	}
	t.Fatal("chat_store_batch_messages not gathered")
	return 0, 0
}

func TestAppendTwoStoresOnePostgres(t *testing.T) {
	url := storetest.URL(t, store.DialectPostgres)
	a := mustOpen(t, url, store.Options{BatchMax: 16})
	t.Cleanup(func() { a.Close() })
	b := mustOpen(t, url, store.Options{BatchMax: 16})
	t.Cleanup(func() { b.Close() })
	u := mustUser(t, a, "alice")
	rooms := []string{chat.DefaultRoom, "second"}
	mustRoom(t, b, "second")
	acks := appendMany(t, []*store.DB{a, b}, u, rooms, 20, 25)
	if len(acks) != 500 {
		t.Fatalf("%d acknowledged, want 500", len(acks))
	}
	checkGapless(t, a, rooms, acks)
	checkGapless(t, b, rooms, acks)
}

func TestHistory(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice := mustUser(t, db, "alice")
		bob := mustUser(t, db, "bob")
		for i := range 10 {
			u := alice
			if i%2 == 1 {
				u = bob
			}
			mustAppend(t, db, send(u, chat.DefaultRoom, "m"+strconv.Itoa(i+1)))
		}
		mustRoom(t, db, "empty")

		tests := []struct {
			before   int64
			limit    int
			want     []int64
			wantMore bool
		}{
			{0, 3, []int64{8, 9, 10}, true},
			{-1, 3, []int64{8, 9, 10}, true},
			{8, 3, []int64{5, 6, 7}, true},
			{5, 4, []int64{1, 2, 3, 4}, false},
			{4, 5, []int64{1, 2, 3}, false},
			{0, 10, seqRange(1, 10), false},
			{0, 9, seqRange(2, 10), true},
			{100, 200, seqRange(1, 10), false},
			{1, 5, []int64{}, false},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("before %d limit %d", tt.before, tt.limit), func(t *testing.T) {
				msgs, more, err := db.History(ctx, chat.DefaultRoom, tt.before, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(seqs(msgs), tt.want) || more != tt.wantMore {
					t.Errorf("History = %v, %v; want %v, %v", seqs(msgs), more, tt.want, tt.wantMore)
				}
				for _, m := range msgs {
					wantFrom := "alice"
					if m.Seq%2 == 0 {
						wantFrom = "bob"
					}
					if m.From != wantFrom || m.Text != "m"+strconv.FormatInt(m.Seq, 10) || m.Room != chat.DefaultRoom {
						t.Errorf("message %+v: want from %s, text m%d", m, wantFrom, m.Seq)
					}
				}
			})
		}

		msgs, more, err := db.History(ctx, "empty", 0, 50)
		if err != nil || more || msgs == nil || len(msgs) != 0 {
			t.Errorf("History(empty room) = %#v, %v, %v; want an empty non-nil slice", msgs, more, err)
		}
		if _, _, err := db.History(ctx, "nowhere", 0, 50); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("History(unknown room): err = %v, want ErrNotFound", err)
		}
		if _, _, err := db.History(ctx, chat.DefaultRoom, 0, 0); chat.ErrorCode(err) != chat.CodeInvalidRequest {
			t.Errorf("History(limit 0): err = %v, want invalid_request", err)
		}
	})
}

func TestAfter(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		for i := range 10 {
			mustAppend(t, db, send(u, chat.DefaultRoom, "m"+strconv.Itoa(i+1)))
		}
		mustRoom(t, db, "empty")
		tests := []struct {
			after, upTo   int64
			limit         int
			want          []int64
			wantTruncated bool
		}{
			{0, 0, 100, seqRange(1, 10), false},
			{0, 0, 10, seqRange(1, 10), false},
			{0, 0, 9, seqRange(2, 10), true},
			{5, 0, 3, []int64{8, 9, 10}, true},
			{7, 0, 3, []int64{8, 9, 10}, false},
			{2, 6, 10, []int64{3, 4, 5, 6}, false},
			{2, 6, 2, []int64{5, 6}, true},
			{2, -1, 100, seqRange(3, 10), false},
			{10, 0, 5, []int64{}, false},
			{3, 3, 5, []int64{}, false},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("after %d upTo %d limit %d", tt.after, tt.upTo, tt.limit), func(t *testing.T) {
				msgs, truncated, err := db.After(ctx, chat.DefaultRoom, tt.after, tt.upTo, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(seqs(msgs), tt.want) || truncated != tt.wantTruncated {
					t.Errorf("After = %v, %v; want %v, %v", seqs(msgs), truncated, tt.want, tt.wantTruncated)
				}
				for _, m := range msgs {
					if m.From != "alice" || m.FromID != u.ID || m.Text != "m"+strconv.FormatInt(m.Seq, 10) {
						t.Errorf("message %+v", m)
					}
				}
			})
		}
		msgs, truncated, err := db.After(ctx, "empty", 0, 0, 10)
		if err != nil || truncated || msgs == nil || len(msgs) != 0 {
			t.Errorf("After(empty room) = %#v, %v, %v; want an empty non-nil slice", msgs, truncated, err)
		}
		if _, _, err := db.After(ctx, "nowhere", 0, 0, 10); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("After(unknown room): err = %v, want ErrNotFound", err)
		}
	})
}

func TestRestartKeepsMessages(t *testing.T) {
	eachDialectURL(t, func(t *testing.T, url string) {
		ctx := testCtx(t)
		db := mustOpen(t, url, store.Options{})
		u := mustUser(t, db, "alice")
		mustRoom(t, db, "kept")
		var acked []chat.Message
		for i := range 5 {
			acked = append(acked, mustAppend(t, db, send(u, "kept", "m"+strconv.Itoa(i))))
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, _, err := db.Append(ctx, send(u, "kept", "late")); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Append after Close: err = %v, want ErrClosed", err)
		}

		db = mustOpen(t, url, store.Options{})
		t.Cleanup(func() { db.Close() })
		msgs, _, err := db.History(ctx, "kept", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(msgs, acked) {
			t.Errorf("after restart History = %+v, want %+v", msgs, acked)
		}
		if _, dup, err := db.Append(ctx, chat.NewMessage{Room: "kept", UserID: u.ID, Username: u.Username, Text: acked[0].Text, Ref: "ref-unused"}); err != nil || dup {
			t.Fatalf("Append after restart: %v, %v", dup, err)
		}
		r, err := db.Room(ctx, "kept")
		if err != nil || r.LastSeq != 6 {
			t.Errorf("Room after restart = %+v, %v; want last_seq 6", r, err)
		}
	})
}

func TestCloseFlushesQueuedAppends(t *testing.T) {
	eachDialectURL(t, func(t *testing.T, url string) {
		ctx := testCtx(t)
		db := mustOpen(t, url, store.Options{BatchMax: 8})
		u := mustUser(t, db, "alice")
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			acked  []chat.Message
			closed int
		)
		start := make(chan struct{})
		for i := range 100 {
			wg.Go(func() {
				<-start
				msg, _, err := db.Append(ctx, send(u, chat.DefaultRoom, "m"+strconv.Itoa(i)))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					acked = append(acked, msg)
				case errors.Is(err, store.ErrClosed):
					closed++
				default:
					t.Errorf("Append: %v", err)
				}
			})
		}
		close(start)
		time.Sleep(2 * time.Millisecond)
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wg.Wait()
		t.Logf("%d acknowledged, %d refused after Close", len(acked), closed)
		if len(acked)+closed != 100 {
			t.Fatalf("%d acknowledged + %d refused, want 100", len(acked), closed)
		}
		db = mustOpen(t, url, store.Options{})
		t.Cleanup(func() { db.Close() })
		checkGapless(t, db, []string{chat.DefaultRoom}, acked)
	})
}
