package store

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

func BenchmarkHackTx(b *testing.B) {
	db, err := Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "x.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var users []chat.User
	for i := range 8 {
		u, _ := db.CreateUser(b.Context(), "user"+strconv.Itoa(i), "h")
		users = append(users, u)
	}
	rooms := make([]string, 8)
	for i := range rooms {
		r, _ := db.EnsureRoom(b.Context(), "room"+strconv.Itoa(i))
		rooms[i] = r.Name
	}
	n := 0
	b.ResetTimer()
	for range b.N {
		batch := make([]*appendReq, 128)
		for i := range batch {
			n++
			u := users[n%8]
			batch[i] = &appendReq{m: chat.NewMessage{Room: rooms[n%8], UserID: u.ID, Username: u.Username, Text: "benchmark message " + strconv.Itoa(n), Ref: "b" + strconv.Itoa(n)}, res: make(chan appendResult, 1)}
		}
		if _, err := db.appendTx(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "us/msg")
}
