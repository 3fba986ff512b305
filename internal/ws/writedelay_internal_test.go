package ws

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatsvc/chat/internal/hub"
)

// TestWriteDelayGathers checks CHAT_WS_WRITE_DELAY's writer: the first
// frame after a quiet spell leaves at once, frames that follow it within
// the delay leave together when the delay since that write is over, and
// after a quiet spell longer than the delay a frame leaves at once again.
func TestWriteDelayGathers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 50 * time.Millisecond
		c, client := pipeConn(t)
		c.h.opt.WriteDelay = delay
		type arrival struct {
			text string
			at   time.Time
		}
		recv := make(chan arrival, 16)
		go func() {
			defer close(recv)
			for {
				_, b, err := client.ReadMessage()
				if err != nil {
					return
				}
				recv <- arrival{string(b), time.Now()}
			}
		}()
		frame := func(n int) hub.Frame { return hub.Frame{Kind: hub.KindData, Data: fmt.Appendf(nil, `{"n":%d}`, n)} }
		expect := func(n int, at time.Time) {
			t.Helper()
			a := <-recv
			if want := fmt.Sprintf(`{"n":%d}`, n); a.text != want || !a.at.Equal(at) {
				t.Fatalf("got %s at %v, want %s at %v", a.text, a.at.Sub(at), want, time.Duration(0))
			}
		}

		start := time.Now()
		c.Deliver(frame(1))
		expect(1, start)
		time.Sleep(time.Millisecond)
		for n := 2; n <= 5; n++ {
			c.Deliver(frame(n))
		}
		for n := 2; n <= 5; n++ {
			expect(n, start.Add(delay))
		}
		time.Sleep(2 * delay)
		quiet := time.Now()
		c.Deliver(frame(6))
		expect(6, quiet)
	})
}
