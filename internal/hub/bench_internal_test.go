package hub

import (
	"fmt"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
)

// benchRoom builds a room with n members on fake sockets whose queues are
// drained by the benchmark instead of writer goroutines, so only the fan-out is measured:
// one encode, then one queue append per member.
func benchRoom(b *testing.B, n int) (*room, []*fakeSocket) {
	b.Helper()
	h := &Hub{opt: Options{SendQueue: 1 << 20}, m: metrics.New()}
	h.opt.defaults()
	r := &room{hub: h, name: "bench", members: make(map[*Client]*member), users: make(map[string]*presence), ready: true}
	socks := make([]*fakeSocket, n)
	for i := range socks {
		s := newFakeSocket(h.opt.SendQueue)
		c := &Client{hub: h, sock: s, userID: fmt.Sprint("u", i), username: fmt.Sprint("user", i)}
		r.members[c] = &member{room: r, conn: c}
		socks[i] = s
	}
	return r, socks
}

func benchmarkBroadcast(b *testing.B, n int) {
	r, conns := benchRoom(b, n)
	m := chat.Message{Room: "bench", ID: "01a2122b-2a17-709a-92ab-40bca1f6efdc", FromID: "u1", From: "user1", Text: "hello, everyone in the room", TS: time.Now()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Seq = int64(i + 1)
		r.deliver(m)
		if i%64 == 63 {
			for _, s := range conns {
				s.queue = s.queue[:0]
			}
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
}

func BenchmarkBroadcast1k(b *testing.B)  { benchmarkBroadcast(b, 1000) }
func BenchmarkBroadcast10k(b *testing.B) { benchmarkBroadcast(b, 10000) }
