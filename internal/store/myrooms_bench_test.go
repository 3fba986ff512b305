package store_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// The corpus of BenchmarkMyRooms, from the environment: the number of rooms
// the reader is a member of (default benchRooms), the messages per room
// (default 20), how many messages follow the reader's marker in each room
// (default: all of them, nothing read; a comma-separated list measures
// each, moving the markers forward on one corpus) and which messages are
// deleted (every tenth by default).
const (
	benchMyRoomsRoomsEnv  = "CHAT_BENCH_MYROOMS_ROOMS"
	benchMyRoomsEnv       = "CHAT_BENCH_MYROOMS_PER_ROOM"
	benchMyRoomsUnreadEnv = "CHAT_BENCH_MYROOMS_UNREAD"
	benchMyRoomsDeleteEnv = "CHAT_BENCH_MYROOMS_DELETE_EVERY"
)

// envInt reads a positive integer from the environment, def when unset.
func envInt(b *testing.B, name string, def int) int {
	return envInts(b, name, def)[0]
}

// envInts reads a comma-separated list of positive integers from the
// environment, [def] when unset.
func envInts(b *testing.B, name string, def int) []int {
	v := os.Getenv(name)
	if v == "" {
		return []int{def}
	}
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want positive numbers", name, v)
		}
		out = append(out, n)
	}
	return out
}

// myRoomsSpec is the shape of BenchmarkMyRooms' corpus.
type myRoomsSpec struct {
	rooms, per  int
	unreads     []int // descending: the markers move forward
	deleteEvery int   // message k is deleted when k%deleteEvery == deleteEvery-1
}

func myRoomsSpecFromEnv(b *testing.B) myRoomsSpec {
	c := myRoomsSpec{
		rooms:       envInt(b, benchMyRoomsRoomsEnv, benchRooms),
		per:         envInt(b, benchMyRoomsEnv, 20),
		deleteEvery: envInt(b, benchMyRoomsDeleteEnv, 10),
	}
	for _, u := range envInts(b, benchMyRoomsUnreadEnv, c.per) {
		c.unreads = append(c.unreads, min(u, c.per))
	}
	slices.Sort(c.unreads)
	slices.Reverse(c.unreads)
	c.unreads = slices.Compact(c.unreads)
	if c.rooms > chat.MaxMyRooms {
		b.Fatalf("%s=%d: the room list holds at most %d rooms", benchMyRoomsRoomsEnv, c.rooms, chat.MaxMyRooms)
	}
	return c
}

// BenchmarkMyRooms measures GET /api/v1/me/rooms in the store for a user
// who is a member of CHAT_BENCH_MYROOMS_ROOMS rooms, each holding
// CHAT_BENCH_MYROOMS_PER_ROOM messages (the user and another in turn; every
// CHAT_BENCH_MYROOMS_DELETE_EVERY-th deleted, for an even number all of
// those the other user's) with CHAT_BENCH_MYROOMS_UNREAD of them after the
// user's read marker. The unread counts come from message ordinals, the
// user's own message ordinals and a count of the deleted messages after the
// marker, so the latency follows the rooms and the deletions after the
// markers, not the rooms' history or the unread tail: run it at several
// history lengths and marker positions.
func BenchmarkMyRooms(b *testing.B) {
	c := myRoomsSpecFromEnv(b)
	for _, d := range storetest.Dialects() {
		if d == store.DialectPostgres && !hasPostgres() {
			b.Log(storetest.PostgresEnv + " not set: skipping PostgreSQL")
			continue
		}
		db, reader, marks := myRoomsCorpus(b, d, c)
		b.Run(d, func(b *testing.B) {
			for i, u := range c.unreads {
				if err := db.MarkRead(b.Context(), marks[i]); err != nil {
					b.Fatal(err)
				}
				c.check(b, db, reader, u)
				b.Run("unread="+strconv.Itoa(u), func(b *testing.B) { c.measure(b, db, reader) })
			}
		})
	}
}

// measure times b.N room lists of the reader.
func (c myRoomsSpec) measure(b *testing.B, db *store.DB, reader chat.User) {
	lat := make([]time.Duration, 0, b.N)
	for range b.N {
		t0 := time.Now()
		rooms, err := db.MyRooms(b.Context(), reader.ID)
		if err != nil || len(rooms) != c.rooms {
			b.Fatalf("MyRooms: %d rooms, %v", len(rooms), err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/float64(c.rooms), "p50-us/room")
}

// check fails the benchmark unless every room of the reader counts the
// other user's live messages among the last unread as unread.
func (c myRoomsSpec) check(b *testing.B, db *store.DB, reader chat.User, unread int) {
	var want int64
	for k := c.per - unread; k < c.per; k++ {
		if k%2 == 1 && k%c.deleteEvery != c.deleteEvery-1 {
			want++
		}
	}
	rooms, err := db.MyRooms(b.Context(), reader.ID)
	if err != nil || len(rooms) != c.rooms {
		b.Fatalf("MyRooms: %d rooms, %v", len(rooms), err)
	}
	for _, r := range rooms {
		if r.Unread != want {
			b.Fatalf("room %s: %d unread, want %d", r.Room.Name, r.Unread, want)
		}
	}
}

// myRoomsCorpus stores the rooms and messages of BenchmarkMyRooms through
// the store's own appends (so ordinals and counters are kept as in
// service) and returns the store, the reader and, for each of c.unreads,
// the read markers that leave that many messages after them. The messages
// are stored in phases, one per marker position.
func myRoomsCorpus(b *testing.B, d string, c myRoomsSpec) (*store.DB, chat.User, [][]store.ReadMark) {
	u := storetest.URL(b, d)
	db := storetest.OpenURL(b, d, u)
	ctx := b.Context()
	reader, other := mustUser(b, db, "reader"), mustUser(b, db, "writer")
	names := make([]string, c.rooms)
	for i := range names {
		names[i] = "r" + strconv.Itoa(i)
		for _, u := range []chat.User{reader, other} {
			if _, err := db.JoinRoom(ctx, names[i], u, false, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	start := time.Now()
	senders := []chat.User{reader, other}
	var marks [][]store.ReadMark
	from := 0
	for _, unread := range c.unreads {
		c.store(b, db, names, senders, from, c.per-unread)
		from = c.per - unread
		marks = append(marks, newestMarks(b, db, names, reader))
	}
	c.store(b, db, names, senders, from, c.per)
	if d == store.DialectPostgres {
		// What a running database's autovacuum does in time: the visibility
		// map lets the counts after a marker read the index alone.
		storetest.OpenRaw(b, d, u).Exec("VACUUM ANALYZE")
	}
	b.Logf("%s: %d rooms × %d messages (every %d-th deleted) stored in %v",
		d, c.rooms, c.per, c.deleteEvery, time.Since(start).Round(time.Second))
	return db, reader, marks
}

// newestMarks returns the reader's read markers at the newest seq of each
// room.
func newestMarks(b *testing.B, db *store.DB, names []string, reader chat.User) []store.ReadMark {
	marks := make([]store.ReadMark, len(names))
	for i, name := range names {
		r, err := db.Room(b.Context(), name)
		if err != nil {
			b.Fatal(err)
		}
		marks[i] = store.ReadMark{Room: name, UserID: reader.ID, Seq: r.LastSeq}
	}
	return marks
}

// store appends messages from to to-1 of every room (and deletes those
// due), store.DefaultBatchMax at a time so that the group commit runs full
// batches; the senders take turns.
func (c myRoomsSpec) store(b *testing.B, db *store.DB, names []string, senders []chat.User, from, to int) {
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		jobs   = make(chan [2]int)
	)
	for range store.DefaultBatchMax {
		wg.Go(func() {
			for j := range jobs {
				if failed.Load() {
					continue
				}
				if err := c.storeOne(b.Context(), db, names[j[0]], senders[j[1]%len(senders)], j[1]); err != nil {
					failed.Store(true)
					b.Error(err)
				}
			}
		})
	}
	for k := from; k < to; k++ {
		for i := range names {
			jobs <- [2]int{i, k}
		}
	}
	close(jobs)
	wg.Wait()
	if failed.Load() {
		b.FailNow()
	}
}

// storeOne appends message k of room from the sender, and deletes it when
// it is due.
func (c myRoomsSpec) storeOne(ctx context.Context, db *store.DB, room string, from chat.User, k int) error {
	m, _, err := db.Append(ctx, chat.NewMessage{Room: room, UserID: from.ID, Username: from.Username, Text: "message " + strconv.Itoa(k)})
	if err != nil || k%c.deleteEvery != c.deleteEvery-1 {
		return err
	}
	_, _, err = db.Append(ctx, chat.NewMessage{Room: room, UserID: from.ID, Username: from.Username, Kind: chat.StreamDelete, Target: m.Seq})
	return err
}
