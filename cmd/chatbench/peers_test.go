package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// peerBin returns the path of a reference server built by
// scripts/peers/build.sh, and skips the test when it is not there.
func peerBin(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("CHAT_PEERS_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "chat-peers")
	}
	bin := filepath.Join(dir, "bin", name)
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s not built: run scripts/peers/build.sh (CHAT_PEERS_DIR=%s)", name, dir)
	}
	return bin
}

// checkPeerRun checks an idle and a fanout line of a run against a peer:
// every socket connected and joined, every message delivered to every
// member, the server's memory read, and the server gone afterwards.
func checkPeerRun(t testing.TB, res map[string]map[string]any, stderr string, members float64) {
	t.Helper()
	idle, fan := res["idle"], res["fanout"]
	if idle == nil || fan == nil {
		t.Fatalf("want idle and fanout lines, got %v", res)
	}
	if num(t, idle, "sockets") != 40 || num(t, idle, "rss_after") <= 0 || num(t, idle, "errors") != 0 {
		t.Errorf("idle: sockets %v rss_after %v errors %v", idle["sockets"], idle["rss_after"], idle["errors"])
	}
	sent, acked := num(t, fan, "sent"), num(t, fan, "acked")
	if sent == 0 || acked != sent || num(t, fan, "errors") != 0 {
		t.Errorf("fanout: sent %v acked %v errors %v (%v)", sent, acked, fan["errors"], fan["error_codes"])
	}
	if num(t, fan, "lost") != 0 || num(t, fan, "delivered") != acked*members {
		t.Errorf("fanout: lost %v delivered %v, want %v", fan["lost"], fan["delivered"], acked*members)
	}
	// The server's CPU comes in 10 ms ticks: a short run may read 0.
	if num(t, fan, "server_cpu_s") < 0 || num(t, fan, "latency_max") <= 0 {
		t.Errorf("fanout: server_cpu_s %v latency_max %v, want both measured", fan["server_cpu_s"], fan["latency_max"])
	}
	checkServerGone(t, stderr)
}

// TestGorillaServerBin runs idle and fanout against the gorilla/websocket
// chat example started by chatbench.
func TestGorillaServerBin(t *testing.T) {
	bin := peerBin(t, "gorilla-chat")
	res, stderr := runBench(t, "-target", "gorilla", "-server-bin", bin, "-scenario", "idle,fanout",
		"-compress=false", "-sockets", "40", "-settle", "3s", "-members", "20", "-senders", "2", "-rate", "20", "-duration", "1s")
	checkPeerRun(t, res, stderr, 20)
	if res["fanout"]["target"] != "gorilla" {
		t.Errorf("target %v, want gorilla", res["fanout"]["target"])
	}
}

// TestCentrifugoServerBin runs idle and fanout against Centrifugo started
// by chatbench with compression on: the connect token, the subscription and
// the client publish are all accepted, the memory comes with the runtime's
// own figures, and permessage-deflate is negotiated.
func TestCentrifugoServerBin(t *testing.T) {
	bin := peerBin(t, "centrifugo")
	res, stderr := runBench(t, "-target", "centrifugo", "-server-bin", bin, "-scenario", "idle,fanout",
		"-sockets", "40", "-rooms", "4", "-settle", "3s", "-members", "20", "-senders", "2", "-rate", "20", "-duration", "1s")
	checkPeerRun(t, res, stderr, 20)
	if num(t, res["idle"], "compressed") != 40 || num(t, res["fanout"], "compressed") != 20 {
		t.Errorf("compressed %v and %v, want 40 and 20", res["idle"]["compressed"], res["fanout"]["compressed"])
	}
	if num(t, res["idle"], "heap_inuse_per_socket") <= 0 {
		t.Errorf("heap_inuse_per_socket %v, want it read from /metrics", res["idle"]["heap_inuse_per_socket"])
	}
}

// TestPeerTargetFlags checks what a peer target refuses.
func TestPeerTargetFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-target", "nats"},
		{"-target", "gorilla", "-scenario", "send"},
		{"-target", "gorilla", "-scenario", "login"},
		{"-target", "centrifugo", "-scenario", "idle"}, // no -server-bin, no -secret
		{"-target", "gorilla", "-url", "http://127.0.0.1:1,http://127.0.0.1:2"},
	} {
		if _, err := parseFlags(append([]string{"chatbench"}, args...), &strings.Builder{}); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// TestGorillaReaderCounts feeds the reader a frame of several messages, as
// the example's writer packs them, and one it cannot read.
func TestGorillaReaderCounts(t *testing.T) {
	c := newCounters()
	s := &sock{c: c}
	now := time.Now()
	text := string(paddedText(nil, now.Add(-3*time.Millisecond), 64))
	if len(text) != 64 {
		t.Fatalf("text %d bytes, want 64", len(text))
	}
	gorillaProto{}.handle(s, []byte(text+"\n"+text+"\n"+text), now)
	gorillaProto{}.handle(s, []byte("hello"), now)
	if d, e := c.delivered.Load(), c.errs.Load(); d != 3 || e != 1 {
		t.Errorf("delivered %d errors %d, want 3 and 1", d, e)
	}
	if p50 := c.lat.quantile(0.5); p50 < 2900*time.Microsecond || p50 > 3100*time.Microsecond {
		t.Errorf("latency p50 %v, want about 3ms", p50)
	}
}

// TestCentrifugoReaderCounts feeds the reader Centrifugo's replies and
// pushes, several to a frame: the connect and subscribe replies release
// their waits (a refusal fails the subscribe), publish replies are acks,
// publications are deliveries.
func TestCentrifugoReaderCounts(t *testing.T) {
	c := newCounters()
	s := &sock{c: c, helloCh: make(chan struct{}), joinedCh: make(chan struct{}), ended: make(chan struct{})}
	now := time.Now()
	p := centrifugoProto{}
	p.handle(s, []byte(`{"id":1,"connect":{"client":"c","version":"6.9.1","ping":25,"pong":true}}`), now)
	if err := s.waitFor(t.Context(), s.helloCh, "connect"); err != nil {
		t.Fatalf("connect: %v", err)
	}
	p.handle(s, []byte(`{"id":2,"error":{"code":103,"message":"permission denied"}}`), now)
	if err := s.waitJoined(t.Context()); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("refused subscribe: %v, want the refusal", err)
	}
	frame := string(p.sendFrame(nil, s, "room", 0, 0, now.Add(-2*time.Millisecond), 40))
	if !strings.HasPrefix(frame, `{"id":3,"publish":{"channel":"room","data":{"text":"`) {
		t.Errorf("publish frame %s", frame)
	}
	pub := `{"push":{"channel":"room","pub":{"data":{"text":"` + string(paddedText(nil, now.Add(-2*time.Millisecond), 40)) + `"}}}}`
	p.handle(s, []byte(`{"id":3,"publish":{}}`+"\n"+pub+"\n"+pub), now)
	p.handle(s, []byte(`{"id":4,"error":{"code":103,"message":"permission denied"}}`), now)
	p.handle(s, []byte(`{"push":{"channel":"room","pub":{"data":{"other":1}}}}`), now)
	if d, a, e := c.delivered.Load(), c.acks.Load(), c.errSummary(); d != 2 || a != 1 || e != "publish_refused:1,undecodable_message:1" && e != "undecodable_message:1,publish_refused:1" {
		t.Errorf("delivered %d acks %d errors %q, want 2, 1, one refusal and one undecodable", d, a, e)
	}
	if p50 := c.lat.quantile(0.5); p50 < 1900*time.Microsecond || p50 > 2100*time.Microsecond {
		t.Errorf("latency p50 %v, want about 2ms", p50)
	}
}

// TestCentrifugoAnswersPing checks that the reader answers the server's
// ping (an empty command) with an empty command on the same socket.
func TestCentrifugoAnswersPing(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_, data, _ := ws.ReadMessage()
		got <- string(data)
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	s := &sock{ws: ws, c: newCounters()}
	centrifugoProto{}.handle(s, []byte(`{}`), time.Now())
	select {
	case m := <-got:
		if m != "{}" {
			t.Errorf("answer %q, want {}", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the ping")
	}
}

// TestCentrifugoToken checks the connection token: HS256 with the secret,
// the user as subject, an expiry.
func TestCentrifugoToken(t *testing.T) {
	tok, err := centrifugoToken("s3cret", "bench00007")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte("s3cret"), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatal(err)
	}
	if sub, _ := parsed.Claims.GetSubject(); sub != "bench00007" {
		t.Errorf("sub %q", sub)
	}
}
