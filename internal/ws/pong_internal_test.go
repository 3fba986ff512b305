package ws

import (
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
)

// TestOnePendingPong checks that pongs queued while the writer is stuck
// behind a peer that reads nothing take one place, not one each: the
// newest ping's data replaces the pong not yet written, and the peer gets
// that one pong once it reads.
func TestOnePendingPong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, client := pipeConn(t)
		var pongs []string
		client.SetPongHandler(func(s string) error { pongs = append(pongs, s); return nil })
		c.Deliver(hub.Frame{Kind: hub.KindData, Data: []byte(`{"type":"x"}`)})
		synctest.Wait() // the writer is blocked on the pipe: the client reads nothing yet
		for i := range 1000 {
			c.queuePong(fmt.Appendf(nil, "p%d", i))
		}
		c.mu.Lock()
		queued, pending, due := len(c.queue), string(c.pong), c.pongDue
		c.mu.Unlock()
		if queued != 0 || !due || pending != "p999" {
			t.Fatalf("after 1000 pings: %d frames queued, pong pending %v with %q; want none queued and p999 pending", queued, due, pending)
		}
		c.Close(chat.CloseNormal)
		frames := 0
		for {
			_, _, err := client.ReadMessage()
			if err != nil {
				break
			}
			frames++
		}
		if frames != 1 || len(pongs) != 1 || pongs[0] != "p999" {
			t.Fatalf("client read %d frames and pongs %q, want 1 frame and the pong p999", frames, pongs)
		}
	})
}
