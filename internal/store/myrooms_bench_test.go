package store_test

import (
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// benchMyRoomsEnv names the messages per room BenchmarkMyRooms stores
// (default 20); the reader is a member of benchRooms rooms.
// benchMyRoomsUnreadEnv names how many messages follow the reader's marker
// in each room (default: all of them, the worst case).
const (
	benchMyRoomsEnv       = "CHAT_BENCH_MYROOMS_PER_ROOM"
	benchMyRoomsUnreadEnv = "CHAT_BENCH_MYROOMS_UNREAD"
)

// envInt reads a positive integer from the environment, def when unset.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// BenchmarkMyRooms measures GET /api/v1/me/rooms in the store for a user
// who is a member of 1000 rooms, each holding CHAT_BENCH_MYROOMS_PER_ROOM
// messages (half of them the user's own, a tenth deleted) and a read
// marker CHAT_BENCH_MYROOMS_UNREAD messages before the end. The unread
// counts come from message ordinals and index ranges after the marker, so
// the latency follows the messages after the markers, not the rooms'
// history: run it at two history lengths and two marker positions.
func BenchmarkMyRooms(b *testing.B) {
	per := envInt(b, benchMyRoomsEnv, 20)
	unread := min(envInt(b, benchMyRoomsUnreadEnv, per), per)
	for _, d := range storetest.Dialects() {
		if d == store.DialectPostgres && !hasPostgres() {
			b.Log(storetest.PostgresEnv + " not set: skipping PostgreSQL")
			continue
		}
		db, reader := myRoomsCorpus(b, d, per, unread)
		b.Run(d, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				t0 := time.Now()
				rooms, err := db.MyRooms(b.Context(), reader.ID)
				if err != nil || len(rooms) != benchRooms {
					b.Fatalf("MyRooms: %d rooms, %v", len(rooms), err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		})
	}
}

// myRoomsCorpus stores the rooms and messages of BenchmarkMyRooms through
// the store's own appends (so ordinals and counters are kept as in
// service) and returns the store and the reader.
func myRoomsCorpus(b *testing.B, d string, per, unread int) (*store.DB, chat.User) {
	u := storetest.URL(b, d)
	db := storetest.OpenURL(b, d, u)
	ctx := b.Context()
	reader, other := mustUser(b, db, "reader"), mustUser(b, db, "writer")
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range benchRooms {
		name := "r" + strconv.Itoa(i)
		for _, u := range []chat.User{reader, other} {
			if _, err := db.JoinRoom(ctx, name, u, false, nil); err != nil {
				b.Fatal(err)
			}
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for k := range per {
				from := []chat.User{reader, other}[k%2]
				m, _, err := db.Append(ctx, chat.NewMessage{Room: name, UserID: from.ID, Username: from.Username, Text: "message " + strconv.Itoa(k)})
				if err != nil {
					b.Error(err)
					return
				}
				if k%10 == 9 {
					_, _, err = db.Append(ctx, chat.NewMessage{Room: name, UserID: from.ID, Username: from.Username, Kind: chat.StreamDelete, Target: m.Seq})
				}
				if err == nil && k == per-unread {
					err = db.MarkRead(ctx, []store.ReadMark{{Room: name, UserID: reader.ID, Seq: m.Seq}})
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if d == store.DialectPostgres {
		// What a running database's autovacuum does in time: the visibility
		// map lets the counts after a marker read the index alone.
		storetest.OpenRaw(b, d, u).Exec("VACUUM ANALYZE")
	}
	b.Logf("%s: %d rooms × %d messages (%d unread) stored in %v", d, benchRooms, per, unread, time.Since(start).Round(time.Second))
	return db, reader
}
