package store_test

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// benchCallers is the number of goroutines calling Append at once.
const benchCallers = 200

// BenchmarkAppendGroupCommit measures acknowledged appends with
// benchCallers concurrent callers over 8 rooms (many messages per room in a
// batch) and over 128 (most of a batch's rooms distinct), each append with
// its own ref. msgs/s is the acknowledged throughput.
func BenchmarkAppendGroupCommit(b *testing.B) {
	for _, d := range storetest.Dialects() {
		for _, nrooms := range []int{8, 128} {
			b.Run(d+"/rooms="+strconv.Itoa(nrooms), func(b *testing.B) { benchmarkAppend(b, d, nrooms) })
		}
	}
}

func benchmarkAppend(b *testing.B, d string, nrooms int) {
	db := storetest.Open(b, d)
	ctx := b.Context()
	var users []chat.User
	for i := range 8 {
		users = append(users, mustUser(b, db, "user"+strconv.Itoa(i)))
	}
	rooms := make([]string, nrooms)
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
			m := chat.NewMessage{
				Room: rooms[n%int64(len(rooms))], UserID: u.ID, Username: u.Username,
				Text: "benchmark message " + strconv.FormatInt(n, 10), Ref: "b" + strconv.FormatInt(n, 10),
			}
			if _, _, err := db.Append(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
