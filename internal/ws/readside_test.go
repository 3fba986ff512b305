package ws_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/ws"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// waitFor polls cond every 10 ms until it holds or within passes.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// waitGauge waits until g reads want.
func waitGauge(t *testing.T, what string, g prometheus.Collector, want float64) {
	t.Helper()
	if !waitFor(5*time.Second, func() bool { return testutil.ToFloat64(g) == want }) {
		t.Fatalf("%s = %v, want %v", what, testutil.ToFloat64(g), want)
	}
}

var leaveFrame = clientFrame(websocket.TextMessage, true, []byte(`{"type":"leave","room":"x"}`))

// TestMessageSplitOverWrites checks that a message whose frame arrives in
// two writes, with a pause between them, is waited for and carried out,
// and that a ping split so is answered without losing what follows.
func TestMessageSplitOverWrites(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	c := e.dialUser("alice")
	for _, at := range []int{1, 5, len(leaveFrame) - 1} {
		c.writeRaw(leaveFrame[:at])
		time.Sleep(150 * time.Millisecond)
		c.writeRaw(leaveFrame[at:])
		c.expect("left")
	}
	// A ping split the same ways is answered, and what follows is read.
	ping := clientFrame(websocket.PingMessage, true, []byte("ping"))
	for _, at := range []int{1, 2, len(ping) - 1} {
		c.writeRaw(ping[:at])
		time.Sleep(150 * time.Millisecond)
		c.writeRaw(ping[at:])
		c.writeRaw(leaveFrame)
		c.expect("left")
	}
}

// TestFramesInOneSegment checks that frames arriving in one write are all
// carried out, though after the first one the rest wait in the read
// buffer with nothing left in the kernel; pings and pongs among them too.
func TestFramesInOneSegment(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	c := e.dialUser("alice")
	var b []byte
	b = append(b, leaveFrame...)
	b = append(b, clientFrame(websocket.PingMessage, true, []byte("p1"))...)
	b = append(b, clientFrame(websocket.PongMessage, true, nil)...)
	b = append(b, leaveFrame...)
	b = append(b, leaveFrame...)
	c.writeRaw(b)
	for range 3 {
		c.expect("left")
	}
	if f, err := c.tryRead(200 * time.Millisecond); err == nil {
		t.Fatalf("unexpected frame %v", f)
	}
	// The socket is armed again: a later message is read too.
	c.writeRaw(leaveFrame)
	c.expect("left")
}

// TestPeerCloses checks both ends of a peer: a close frame is answered
// with the same code, and a connection closed without one ends the socket
// all the same.
func TestPeerCloses(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	tok := e.user("alice").AccessToken
	c := e.dial(tok)
	waitGauge(t, "open sockets", e.m.WSConnections, 1)
	c.writeRaw(clientFrame(websocket.CloseMessage, true, websocket.FormatCloseMessage(4321, "bye")))
	if code, _ := c.expectClose(5 * time.Second); code != 4321 {
		t.Fatalf("close answered with %d, want 4321", code)
	}
	waitGauge(t, "open sockets", e.m.WSConnections, 0)

	c = e.dial(tok)
	waitGauge(t, "open sockets", e.m.WSConnections, 1)
	_ = c.c.NetConn().Close()
	waitGauge(t, "open sockets", e.m.WSConnections, 0)
}

// TestPeerVanishes checks that a peer that goes silent, sending nothing
// and closing nothing, is ended by the heartbeat though nothing reads its
// socket meanwhile.
func TestPeerVanishes(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) {
		o.PingInterval = 100 * time.Millisecond
		o.PongTimeout = 100 * time.Millisecond
	}})
	wc, _, err := websocket.DefaultDialer.Dial(e.wsURL, http.Header{"Authorization": {"Bearer " + e.user("alice").AccessToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	waitGauge(t, "open sockets", e.m.WSConnections, 1)
	// The client never reads again, so it never answers a ping.
	waitGauge(t, "heartbeat timeouts", e.m.WSHeartbeatTimeouts, 1)
	waitGauge(t, "open sockets", e.m.WSConnections, 0)
}

// TestShutdownWaitsForReadSides checks that the handler's Shutdown returns
// only once every read side has ended: not while a socket waits for the
// rest of a message, and at once after the hub's Shutdown has closed it.
func TestShutdownWaitsForReadSides(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	c := e.dialUser("alice")
	c.writeRaw(leaveFrame[:8]) // the header and part of the body
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := e.ws.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a message half read = %v, want the deadline", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.ws.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after the hub's = %v", err)
	}
}

// TestIdleSocketsHoldNoGoroutine checks that with the poller, sockets that
// have carried out a message, sent a ping and a pong and gone idle hold no
// goroutine; with reader goroutines, that each holds one.
func TestIdleSocketsHoldNoGoroutine(t *testing.T) {
	const n = 500
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.MaxConnsPerUser = n + 1 }})
	h := http.Header{"Authorization": {"Bearer " + e.user("alice").AccessToken}}
	settle := func() int {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	socks := make([]*websocket.Conn, 0, n)
	defer func() {
		for _, wc := range socks {
			_ = wc.Close()
		}
	}()
	for range n {
		wc, _, err := websocket.DefaultDialer.Dial(e.wsURL, h)
		if err != nil {
			t.Fatal(err)
		}
		socks = append(socks, wc)
		if _, _, err := wc.ReadMessage(); err != nil { // welcome
			t.Fatal(err)
		}
	}
	for _, wc := range socks {
		_ = wc.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second))
		_ = wc.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second))
		if err := wc.WriteMessage(websocket.TextMessage, []byte(`{"type":"leave","room":"x"}`)); err != nil {
			t.Fatal(err)
		}
	}
	pongs := 0
	for _, wc := range socks {
		wc.SetPongHandler(func(string) error { pongs++; return nil })
		if _, _, err := wc.ReadMessage(); err != nil { // left, after the pong
			t.Fatal(err)
		}
	}
	if pongs != n {
		t.Fatalf("%d pongs for %d pings", pongs, n)
	}
	var after int
	if ws.TestReadMode == ws.ReadGoroutine {
		after = settle()
		if after-before < n {
			t.Fatalf("goroutines %d → %d with %d reader goroutines", before, after, n)
		}
		return
	}
	ok := waitFor(5*time.Second, func() bool { after = settle(); return after-before <= 20 })
	if !ok {
		t.Fatalf("goroutines %d → %d with %d idle sockets, want about the same", before, after, n)
	}
	t.Logf("goroutines %d → %d with %d idle sockets", before, after, n)
}

// TestOddControlFramesLeftToLibrary checks that control frames the read
// side does not answer itself (unmasked, too long, fragmented) still get
// the library's protocol-error close, whatever the read side.
func TestOddControlFramesLeftToLibrary(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	tok := e.user("alice").AccessToken
	unmasked := []byte{0x80 | websocket.PingMessage, 2, 'h', 'i'}
	long := clientFrame(websocket.PingMessage, true, make([]byte, 126))
	unfinished := clientFrame(websocket.PongMessage, false, []byte("x"))
	for _, b := range [][]byte{unmasked, long, unfinished} {
		c := e.dial(tok)
		c.writeRaw(b)
		if code, _ := c.expectClose(5 * time.Second); code != websocket.CloseProtocolError {
			t.Fatalf("frame % x: close %d, want %d", b[:2], code, websocket.CloseProtocolError)
		}
	}
}
