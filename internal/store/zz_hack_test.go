package store_test

import (
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"runtime"
	"path/filepath"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

func BenchmarkHack(b *testing.B) {
	m := metrics.New()
	u := "sqlite:"+filepath.Join(b.TempDir(), "x.db")
	if os.Getenv("HACK_PG") != "" { u = storetest.URL(b, "postgres") }
	db := mustOpen(b, u, store.Options{Metrics: m})
	defer db.Close()
	ctx := b.Context()
	var users []chat.User
	for i := range 8 {
		users = append(users, mustUser(b, db, "user"+strconv.Itoa(i)))
	}
	rooms := make([]string, 8)
	for i := range rooms {
		rooms[i] = mustRoom(b, db, "room"+strconv.Itoa(i)).Name
	}
	var next atomic.Int64
	b.SetParallelism((benchCallers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			u := users[n%int64(len(users))]
			mm := chat.NewMessage{Room: rooms[n%int64(len(rooms))], UserID: u.ID, Username: u.Username, Text: "benchmark message " + strconv.FormatInt(n, 10), Ref: "b" + strconv.FormatInt(n, 10)}
			if _, _, err := db.Append(ctx, mm); err != nil {
				b.Error(err)
				return
			}
		}
	})
	mfs, _ := m.Registry().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "chat_store_batch_messages" {
			h := mf.GetMetric()[0].GetHistogram()
			b.Logf("N=%d batches=%d avg=%.1f", b.N, h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount()))
		}
	}
}

func TestHackFrames(t *testing.T) {
	m := metrics.New()
	dir := t.TempDir()
	db := mustOpen(t, "sqlite:"+filepath.Join(dir, "x.db"), store.Options{Metrics: m})
	defer db.Close()
	ctx := t.Context()
	var users []chat.User
	for i := range 8 {
		users = append(users, mustUser(t, db, "user"+strconv.Itoa(i)))
	}
	rooms := make([]string, 8)
	for i := range rooms {
		rooms[i] = mustRoom(t, db, "room"+strconv.Itoa(i)).Name
	}
	var next atomic.Int64
	done := make(chan bool)
	for g := 0; g < 200; g++ {
		go func() {
			for {
				n := next.Add(1)
				if n > 20000 { done <- true; return }
				u := users[n%int64(len(users))]
				mm := chat.NewMessage{Room: rooms[n%int64(len(rooms))], UserID: u.ID, Username: u.Username, Text: "benchmark message " + strconv.FormatInt(n, 10), Ref: "b" + strconv.FormatInt(n, 10)}
				if _, _, err := db.Append(ctx, mm); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for g := 0; g < 200; g++ { <-done }
	st, _ := os.Stat(filepath.Join(dir, "x.db-wal"))
	st2, _ := os.Stat(filepath.Join(dir, "x.db"))
	mfs, _ := m.Registry().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "chat_store_batch_messages" {
			h := mf.GetMetric()[0].GetHistogram()
			t.Logf("batches=%d avg=%.1f wal=%d frames=%d frames/batch=%.1f db=%d", h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount()), st.Size(), st.Size()/4120, float64(st.Size()/4120)/float64(h.GetSampleCount()), st2.Size())
		}
	}
}
