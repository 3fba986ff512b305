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
const benchMyRoomsEnv = "CHAT_BENCH_MYROOMS_PER_ROOM"

// BenchmarkMyRooms measures GET /api/v1/me/rooms in the store for a user
// who is a member of 1000 rooms, each holding CHAT_BENCH_MYROOMS_PER_ROOM
// messages (half of them the user's own, a tenth deleted) and a read
// marker at a different point in each. The unread counts come from message
// ordinals, so the latency should not grow with the rooms' history: run it
// at two sizes and compare.
func BenchmarkMyRooms(b *testing.B) {
	per := 20
	if v := os.Getenv(benchMyRoomsEnv); v != "" {
		var err error
		if per, err = strconv.Atoi(v); err != nil || per < 1 {
			b.Fatalf("%s=%q: want a positive number", benchMyRoomsEnv, v)
		}
	}
	for _, d := range storetest.Dialects() {
		if d == store.DialectPostgres && !hasPostgres() {
			b.Log(storetest.PostgresEnv + " not set: skipping PostgreSQL")
			continue
		}
		db, reader := myRoomsCorpus(b, d, per)
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
func myRoomsCorpus(b *testing.B, d string, per int) (*store.DB, chat.User) {
	db := storetest.Open(b, d)
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
				if err == nil && k == i%per {
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
	b.Logf("%s: %d rooms × %d messages stored in %v", d, benchRooms, per, time.Since(start).Round(time.Second))
	return db, reader
}
