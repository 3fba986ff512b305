package store_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// benchSearchEnv names the number of messages BenchmarkSearch stores; the
// default keeps a plain -bench run short. The figures in docs/BENCHMARKS.md
// are for CHAT_BENCH_SEARCH_MESSAGES=1000000.
const benchSearchEnv = "CHAT_BENCH_SEARCH_MESSAGES"

// Shape of the BenchmarkSearch corpus.
const (
	benchSearchDefault = 20000
	benchRooms         = 1000 // every tenth is private
	benchVocabulary    = 10000
	benchWordsPerMsg   = 8
	benchLoadBatch     = 2000
)

// benchWord returns a word of the corpus: k0000 … k9999, skewed so that low
// numbers are common (k0000 is in about one message of six) and most are
// rare, like the words of a language.
func benchWord(r *rand.Rand) string {
	return fmt.Sprintf("k%04d", r.IntN(100)*r.IntN(100))
}

// BenchmarkSearch stores CHAT_BENCH_SEARCH_MESSAGES messages (default
// 20000) of eight words in 1000 rooms, a tenth of them private, and
// measures searches of two words (the second as a prefix) by a user who
// is a member of ten private rooms. It reports the latency percentiles.
func BenchmarkSearch(b *testing.B) {
	n := benchSearchDefault
	if v := os.Getenv(benchSearchEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive number", benchSearchEnv, v)
		}
	}
	for _, d := range storetest.Dialects() {
		if d == store.DialectPostgres && !hasPostgres() {
			b.Log(storetest.PostgresEnv + " not set: skipping PostgreSQL")
			continue
		}
		// The corpus is stored once, here: a sub-benchmark's function runs
		// more than once.
		db, user := searchCorpus(b, d, n)
		b.Run(d, func(b *testing.B) { benchmarkSearch(b, db, user) })
	}
}

// searchCorpus stores the corpus of BenchmarkSearch on a fresh database of
// the dialect and returns its store and the searching user.
func searchCorpus(b *testing.B, d string, n int) (*store.DB, chat.User) {
	u := storetest.URL(b, d)
	db := storetest.OpenURL(b, d, u)
	raw := storetest.OpenRaw(b, d, u)
	user := mustUser(b, db, "reader")
	for i := range benchRooms {
		name := "r" + strconv.Itoa(i)
		mustRoom(b, db, name)
		if i%10 == 0 {
			raw.SetRoomKind(name, "private")
			if i%100 == 0 {
				raw.SetMember(name, user.ID, "member")
			}
		}
	}
	start := time.Now()
	loadMessages(b, raw, d, user.ID, n)
	b.Logf("%s: stored %d messages in %v", d, n, time.Since(start).Round(time.Second))
	if d == store.DialectPostgres {
		raw.Exec("ANALYZE")
	}
	return db, user
}

func benchmarkSearch(b *testing.B, db *store.DB, user chat.User) {
	r := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	ctx := b.Context()
	b.ResetTimer()
	for range b.N {
		q, err := chat.ParseSearch(benchWord(r) + " " + benchWord(r))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := db.Search(ctx, chat.Search{Query: q, UserID: user.ID, Limit: chat.DefaultSearchLimit}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// loadMessages stores n messages of userID round-robin over the rooms, in
// statements of benchLoadBatch rows, written around the store (as a
// migration of existing data would be): the index is kept by the same
// triggers or generated column as for appends.
func loadMessages(b *testing.B, raw *storetest.Raw, d, userID string, n int) {
	r := rand.New(rand.NewPCG(3, 4))
	ts := raw.Time(time.Now())
	for from := 0; from < n; from += benchLoadBatch {
		to := min(from+benchLoadBatch, n)
		var (
			rooms, ids, texts []string
			seqs              []int64
		)
		for i := from; i < to; i++ {
			words := make([]string, benchWordsPerMsg)
			for k := range words {
				words[k] = benchWord(r)
			}
			rooms = append(rooms, "r"+strconv.Itoa(i%benchRooms))
			seqs = append(seqs, int64(i/benchRooms+1))
			ids = append(ids, fmt.Sprintf("b%012d", i))
			texts = append(texts, strings.Join(words, " ")+".")
		}
		if d == store.DialectPostgres {
			raw.Exec(`INSERT INTO messages (room, seq, id, user_id, text, ts)
SELECT u.room, u.seq, u.id, $4, u.text, $5 FROM unnest($1::text[], $2::bigint[], $3::text[], $6::text[]) AS u (room, seq, id, text)`,
				rooms, seqs, ids, userID, ts, texts)
			continue
		}
		var q strings.Builder
		args := make([]any, 0, 4*len(ids)+2)
		args = append(args, userID, ts)
		q.WriteString(`INSERT INTO messages (room, seq, id, user_id, text, ts) VALUES `)
		for j := range ids {
			if j > 0 {
				q.WriteString(", ")
			}
			p := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $1, $%d, $2)", p+1, p+2, p+3, p+4)
			args = append(args, rooms[j], seqs[j], ids[j], texts[j])
		}
		raw.Exec(q.String(), args...)
	}
	raw.Exec(`UPDATE rooms SET last_seq = (SELECT count(*) FROM messages m WHERE m.room = rooms.name)`)
}

// BenchmarkSearchIndexAppend measures acknowledged appends of eight-word
// messages (benchCallers concurrent callers over 128 rooms) with the
// search index and without it (its triggers or generated column dropped),
// so that the cost the index adds to the group commit is the difference
// of the msgs/s figures.
func BenchmarkSearchIndexAppend(b *testing.B) {
	for _, d := range storetest.Dialects() {
		for _, index := range []bool{true, false} {
			name := d + "/index"
			if !index {
				name = d + "/noindex"
			}
			b.Run(name, func(b *testing.B) { benchmarkIndexAppend(b, d, index) })
		}
	}
}

func benchmarkIndexAppend(b *testing.B, d string, index bool) {
	u := storetest.URL(b, d)
	db := storetest.OpenURL(b, d, u)
	if !index {
		raw := storetest.OpenRaw(b, d, u)
		if d == store.DialectSQLite {
			for _, trg := range []string{"messages_fts_insert", "messages_fts_update", "messages_fts_delete"} {
				raw.Exec("DROP TRIGGER " + trg)
			}
		} else {
			raw.Exec("ALTER TABLE messages DROP COLUMN search")
		}
	}
	users := make([]chat.User, 8)
	for i := range users {
		users[i] = mustUser(b, db, "user"+strconv.Itoa(i))
	}
	rooms := make([]string, 128)
	for i := range rooms {
		rooms[i] = mustRoom(b, db, "room"+strconv.Itoa(i)).Name
	}
	ctx := b.Context()
	var next atomic.Int64
	b.SetParallelism((benchCallers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(uint64(next.Add(1)), 5))
		for pb.Next() {
			i := next.Add(1)
			us := users[i%int64(len(users))]
			words := make([]string, benchWordsPerMsg)
			for k := range words {
				words[k] = benchWord(r)
			}
			m := chat.NewMessage{Room: rooms[i%int64(len(rooms))], UserID: us.ID, Username: us.Username,
				Text: strings.Join(words, " "), Ref: "b" + strconv.FormatInt(i, 10)}
			if _, _, err := db.Append(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
