package ws_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/ws"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clientFrame returns one client-to-server frame with opcode op (0 for a
// continuation), final when fin, masked with the zero key so the payload
// goes as it is. Tests write it straight to the connection to send a
// message in fragments that gorilla's writer would not split.
func clientFrame(op byte, fin bool, payload []byte) []byte {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0) // the masking key
	return append(b, payload...)
}

// writeRaw writes a frame made by clientFrame on c's connection. A frame
// is one write, so gorilla's own pongs cannot land inside it.
func (c *client) writeRaw(b []byte) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.c.NetConn().Write(b); err != nil {
		c.t.Fatalf("raw write: %v", err)
	}
}

// TestPingFloodRateLimited checks that a client's pings cost tokens of the
// socket's rate bucket: a flood gets about a burst of pongs, the rest are
// counted as rate limited, and the socket stays usable.
func TestPingFloodRateLimited(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.RateMsgs = 10; o.RateBurst = 20 }})
	tok := e.user("alice").AccessToken
	wc, _, err := websocket.DefaultDialer.Dial(e.wsURL, http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	var mu sync.Mutex
	var pongs []string
	wc.SetPongHandler(func(s string) error {
		mu.Lock()
		pongs = append(pongs, s)
		mu.Unlock()
		return nil
	})
	left := make(chan struct{})
	go func() {
		for {
			_, b, err := wc.ReadMessage()
			if err != nil {
				return
			}
			if strings.Contains(string(b), `"type":"left"`) {
				close(left)
			}
		}
	}()
	const sent = 300
	start := time.Now()
	for i := range sent {
		if err := wc.WriteControl(websocket.PingMessage, fmt.Appendf(nil, "p%d", i), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // a token or two for the leave below
	elapsed := time.Since(start)
	if err := wc.WriteJSON(frame{"type": "leave", "room": "x"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-left: // every pong written before it has been read
	case <-time.After(5 * time.Second):
		t.Fatal("no left frame: the socket did not survive the ping flood")
	}
	mu.Lock()
	got := len(pongs)
	mu.Unlock()
	most := 20 + int(10*elapsed.Seconds()) + 1
	if got == 0 || got > most {
		t.Fatalf("%d pongs for %d pings, want 1 to %d (burst 20, 10 a second)", got, sent, most)
	}
	if limited := testutil.ToFloat64(e.m.RateLimitedWS); limited < float64(sent-most) {
		t.Fatalf("chat_rate_limited_total{scope=ws} = %v, want at least %d", limited, sent-most)
	}
}

// TestRateAskedAtFirstFrame checks that the rate bucket is asked when a
// message's first frame arrives, not once it is whole and decoded: a
// message begun with the bucket empty is refused, though a token is back
// by the time its last fragment arrives, and its ref and room are echoed.
func TestRateAskedAtFirstFrame(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.RateMsgs = 0.5; o.RateBurst = 1 }})
	c := e.dialUser("alice")
	c.send(frame{"type": "leave", "room": "x"})
	c.expect("left") // the bucket is empty; its next token comes in 2 s
	c.writeRaw(clientFrame(websocket.TextMessage, false, []byte(`{"type":"leave","room":"x",`)))
	time.Sleep(3 * time.Second)
	c.writeRaw(clientFrame(0, true, []byte(`"ref":"late"}`)))
	f := c.read()
	if f.str("type") != "error" || f.str("code") != "rate_limited" || f.str("ref") != "late" || f.str("room") != "x" {
		t.Fatalf("got %v, want error rate_limited with ref late and room x", f)
	}
	if got := testutil.ToFloat64(e.m.RateLimitedWS); got != 1 {
		t.Fatalf("chat_rate_limited_total{scope=ws} = %v, want 1", got)
	}
}

// TestMessageMustCompleteInTime checks that a message whose sender answers
// pings but never sends its last fragment is closed with 1008 once the
// pong timeout has passed since its first fragment, and that a fragmented
// message finished in time is carried out.
func TestMessageMustCompleteInTime(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) {
		o.PingInterval = 200 * time.Millisecond
		o.PongTimeout = time.Second
	}})
	tok := e.user("alice").AccessToken

	t.Run("finished in time", func(t *testing.T) {
		c := e.dial(tok)
		c.writeRaw(clientFrame(websocket.TextMessage, false, []byte(`{"type":"leave",`)))
		time.Sleep(300 * time.Millisecond)
		c.writeRaw(clientFrame(0, true, []byte(`"room":"x","ref":"r1"}`)))
		if f := c.expect("left"); f.str("ref") != "r1" {
			t.Fatalf("left = %v", f)
		}
		// The bound ended with the message: the socket lives on.
		time.Sleep(1500 * time.Millisecond)
		c.send(frame{"type": "leave", "room": "x"})
		c.expect("left")
	})

	t.Run("never finished", func(t *testing.T) {
		c := e.dial(tok) // its reader answers every ping
		start := time.Now()
		c.writeRaw(clientFrame(websocket.TextMessage, false, []byte(`{"type":"leave",`)))
		code, reason := c.expectClose(5 * time.Second)
		if code != 1008 || reason != "policy_violation" {
			t.Fatalf("closed with %d %q, want 1008 policy_violation", code, reason)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("closed %v after the first fragment, before the 1 s bound", d)
		}
		if got := testutil.ToFloat64(e.m.WSHeartbeatTimeouts); got != 0 {
			t.Fatalf("heartbeat timeouts = %v: the socket should have been alive", got)
		}
	})
}

// TestStalledReaderClosedAsSlow checks that a socket whose peer reads
// nothing is closed with 4008 within seconds even when its outgoing queue
// never overflows: the kernel may hold only a modest send buffer for it,
// and a write that cannot finish within the write timeout ends it. The
// other members of the room get every message.
func TestStalledReaderClosedAsSlow(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{ws: func(o *ws.Options) { o.WriteTimeout = 2 * time.Second }})
	bob := e.dialUser("bob")
	bob.join("flood", -1)

	// The stalled client offers a tiny receive window and never reads.
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			_ = nc.(*net.TCPConn).SetReadBuffer(4096)
		}
		return nc, err
	}}
	stalled, _, err := d.Dial(e.wsURL, http.Header{"Authorization": {"Bearer " + e.user("stalled").AccessToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if err := stalled.WriteJSON(frame{"type": "join", "room": "flood"}); err != nil {
		t.Fatal(err)
	}
	for f := bob.read(); f.str("type") != "presence" || f.str("user") != "stalled"; f = bob.read() {
	}

	// 120 messages of 12 KB: far more than the buffers hold, far fewer
	// than the 256 frames of the outgoing queue.
	alice := e.dialUser("alice")
	alice.join("flood", -1)
	const n = 120
	text := strings.Repeat("€", 4000)
	start := time.Now()
	for i := range n / burstSize {
		alice.sendBurst("flood", text, i)
	}
	deadline := start.Add(10 * time.Second)
	for testutil.ToFloat64(e.m.WSDisconnects.WithLabelValues("4008")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stalled socket not closed with 4008 within 10 s: disconnects{4008} = %v, slow consumers = %v",
				testutil.ToFloat64(e.m.WSDisconnects.WithLabelValues("4008")), testutil.ToFloat64(e.m.WSSlowConsumerDisconnects))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := testutil.ToFloat64(e.m.WSSlowConsumerDisconnects); got != 1 {
		t.Fatalf("slow consumer disconnects = %v, want 1", got)
	}
	var seq int64
	for seq < n {
		f := bob.read()
		if f.str("type") != "message" {
			continue
		}
		if f.num("seq") != seq+1 {
			t.Fatalf("bob got seq %d after %d", f.num("seq"), seq)
		}
		seq = f.num("seq")
	}
}
