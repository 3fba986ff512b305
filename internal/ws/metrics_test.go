package ws_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/ws"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// mtValue reads a counter or gauge.
func mtValue(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// mtWaitValue waits until c reads want and stays there for a moment; it
// fails when c moves past want or does not reach it within 5 s. The writer
// counts a frame around the moment it reaches the wire, and a socket's end
// is counted after its close frame, so a client can see either an instant
// before the metric moves.
func mtWaitValue(tb testing.TB, what string, c prometheus.Collector, want float64) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	start := mtValue(c)
	for {
		got := mtValue(c)
		if start <= want && got > want || start >= want && got < want {
			tb.Fatalf("%s = %v, want %v (it was %v)", what, got, want, start)
		}
		if got == want {
			time.Sleep(50 * time.Millisecond)
			if again := mtValue(c); again != want {
				tb.Fatalf("%s = %v after settling at %v", what, again, want)
			}
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s = %v, want %v", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mtHistogramCount returns the number of observations of the histogram
// family name in m.
func mtHistogramCount(tb testing.TB, m *metrics.Metrics, name string) uint64 {
	tb.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var n uint64
			for _, metric := range mf.GetMetric() {
				n += metric.GetHistogram().GetSampleCount()
			}
			return n
		}
	}
	tb.Fatalf("no metric family %s", name)
	return 0
}

// mtTally counts every frame the test reads from its clients, so the
// frames the server sent can be checked against what arrived.
type mtTally struct{ frames int }

// readUntil reads frames from c, counting each, until match accepts one.
func (tl *mtTally) readUntil(c *client, match func(frame) bool) frame {
	c.t.Helper()
	for {
		f := c.read()
		tl.frames++
		if match(f) {
			return f
		}
		if f.str("type") == "error" {
			c.t.Fatalf("unexpected error frame %v", f)
		}
	}
}

// drain counts the frames c receives until none comes for quiet.
func (tl *mtTally) drain(c *client, quiet time.Duration) {
	for {
		if _, err := c.tryRead(quiet); err != nil {
			return
		}
		tl.frames++
	}
}

func mtIs(typ string) func(frame) bool {
	return func(f frame) bool { return f.str("type") == typ }
}

// mtCloseNormal sends a 1000 close and waits for the server's answer.
func mtCloseNormal(tb testing.TB, c *client) {
	tb.Helper()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	if err := c.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		tb.Fatalf("write close: %v", err)
	}
	if code, _ := c.expectClose(5 * time.Second); code != websocket.CloseNormalClosure {
		tb.Fatalf("server answered close with %d, want 1000", code)
	}
}

// TestMetricsFollowTraffic checks that each counter moves exactly as the
// traffic that caused it.
func TestMetricsFollowTraffic(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		const n = 7 // messages sent
		e := newEnv(t, dialect, envOpts{})
		m := e.m
		disc1000 := m.WSDisconnects.WithLabelValues("1000")
		unauthorized := m.WSUpgradeFailures.WithLabelValues("unauthorized")
		var tally mtTally
		clientFrames := 0 // data frames the clients sent

		// Three sockets of two users, all in one room. dial reads the
		// welcome frame of each.
		alice, bob := e.user("alice"), e.user("bob")
		a1, a2, b1 := e.dial(alice.AccessToken), e.dial(alice.AccessToken), e.dial(bob.AccessToken)
		tally.frames += 3
		if got := mtValue(m.WSConnections); got != 3 {
			t.Fatalf("chat_ws_connections = %v with 3 sockets open", got)
		}
		if got := mtValue(m.WSAccepted); got != 3 {
			t.Fatalf("chat_ws_connections_accepted_total = %v after 3 upgrades", got)
		}
		for _, c := range []*client{a1, a2, b1} {
			c.send(frame{"type": "join", "room": "metrics"})
			clientFrames++
			tally.readUntil(c, mtIs("joined"))
		}
		members := 3

		// n compressible messages from a1: each is stored once and
		// delivered to each of the three sockets; a1 also gets n acks.
		stored0 := mtValue(m.MessagesStored)
		text := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 40)
		for i := range n {
			a1.send(frame{"type": "send", "room": "metrics", "text": fmt.Sprintf("%d %s", i, text), "ref": newRef()})
			clientFrames++
		}
		for _, c := range []*client{a1, a2, b1} {
			for range n {
				tally.readUntil(c, mtIs("message"))
			}
		}
		mtWaitValue(t, "chat_messages_stored_total", m.MessagesStored, stored0+n)
		mtWaitValue(t, "chat_messages_delivered_total", m.MessagesDelivered, float64(n*members))
		if got := mtHistogramCount(t, m, "chat_message_delivery_seconds"); got != uint64(n*members) {
			t.Errorf("chat_message_delivery_seconds count = %d, want %d deliveries", got, n*members)
		}

		// A replay is a delivery but no delivery latency.
		r1 := e.dial(bob.AccessToken)
		tally.frames++
		r1.send(frame{"type": "join", "room": "metrics", "since": 0})
		clientFrames++
		joined := tally.readUntil(r1, mtIs("joined"))
		if joined.num("replayed") != n {
			t.Fatalf("replayed %d, want %d", joined.num("replayed"), n)
		}
		mtWaitValue(t, "chat_messages_delivered_total after a replay", m.MessagesDelivered, float64(n*members+n))
		if got := mtHistogramCount(t, m, "chat_message_delivery_seconds"); got != uint64(n*members) {
			t.Errorf("chat_message_delivery_seconds count = %d after a replay, want %d", got, n*members)
		}

		// A socket closed by its client with 1000.
		open := mtValue(m.WSConnections)
		if open != 4 {
			t.Fatalf("chat_ws_connections = %v with 4 sockets open", open)
		}
		mtCloseNormal(t, r1)
		mtWaitValue(t, "chat_ws_connections", m.WSConnections, 3)
		mtWaitValue(t, `chat_ws_disconnects_total{code="1000"}`, disc1000, 1)

		// A refused handshake: a bad token in the query.
		if _, resp, err := e.dialHeader(nil, "access_token=SECRETTOKEN"); err == nil || status(resp) != http.StatusUnauthorized {
			t.Fatalf("bad token: err %v, status %d; want a 401", err, status(resp))
		}
		if got := mtValue(unauthorized); got != 1 {
			t.Errorf(`chat_ws_upgrade_failures_total{reason="unauthorized"} = %v, want 1`, got)
		}
		if got := mtValue(m.WSAccepted); got != 4 {
			t.Errorf("chat_ws_connections_accepted_total = %v after 4 upgrades and 1 refusal", got)
		}

		// Every frame that arrived was counted as sent, and every client
		// frame as received.
		for _, c := range []*client{a1, a2, b1} {
			tally.drain(c, 100*time.Millisecond)
		}
		if got := mtValue(m.WSFramesSent); got != float64(tally.frames) {
			t.Errorf("chat_ws_frames_sent_total = %v, clients received %d", got, tally.frames)
		}
		if got := mtValue(m.WSFramesReceived); got != float64(clientFrames) {
			t.Errorf("chat_ws_frames_received_total = %v, clients sent %d", got, clientFrames)
		}
		wire, payload := mtValue(m.WSWireBytesSent), mtValue(m.WSPayloadBytesSent)
		if wire <= 0 || wire >= payload/2 {
			t.Errorf("compressed: wire bytes sent %v, payload bytes %v: want wire well below payload", wire, payload)
		}
		if got := mtValue(m.WSWireBytesReceived); got <= 0 {
			t.Errorf("chat_ws_wire_bytes_received_total = %v", got)
		}

		// The rest close; the gauge returns to zero.
		for _, c := range []*client{a1, a2, b1} {
			mtCloseNormal(t, c)
		}
		mtWaitValue(t, "chat_ws_connections", m.WSConnections, 0)
		mtWaitValue(t, `chat_ws_disconnects_total{code="1000"}`, disc1000, 4)

		problems, err := testutil.GatherAndLint(m.Registry())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})
}

// TestWireBytesWithoutCompression checks that without permessage-deflate
// the wire carries at least the payload.
func TestWireBytesWithoutCompression(t *testing.T) {
	for _, tc := range []struct {
		name     string
		server   bool // the hub offers compression
		client   bool // the client offers compression
		wantLess bool // wire bytes below payload bytes
	}{
		{"on", true, true, true},
		{"off on the server", false, true, false},
		{"off on the client", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "sqlite", envOpts{ws: func(o *ws.Options) { o.Compression = tc.server }})
			d := websocket.Dialer{EnableCompression: tc.client, HandshakeTimeout: 5 * time.Second}
			// A sender, and a receiver that gets nothing but small frames
			// besides the messages.
			var cs []*client
			for _, name := range []string{"carol", "dave"} {
				c, _, err := e.dialWith(d, http.Header{"Authorization": {"Bearer " + e.user(name).AccessToken}}, "")
				if err != nil {
					t.Fatal(err)
				}
				c.join("z", -1)
				cs = append(cs, c)
			}
			text := strings.Repeat("abcabcabc ", 300)
			for range 5 {
				cs[0].sendMsg("z", text)
				cs[0].expect("message")
				cs[1].expect("message")
			}
			mtWaitValue(t, "chat_messages_delivered_total", e.m.MessagesDelivered, 10)
			wire, payload := mtValue(e.m.WSWireBytesSent), mtValue(e.m.WSPayloadBytesSent)
			if payload < 10*float64(len(text)) {
				t.Fatalf("payload bytes %v below the %d bytes of text delivered", payload, 10*len(text))
			}
			if tc.wantLess && wire >= payload/2 {
				t.Errorf("wire %v, payload %v: want wire well below payload", wire, payload)
			}
			if !tc.wantLess && wire < payload {
				t.Errorf("wire %v, payload %v: want wire >= payload", wire, payload)
			}
		})
	}
}

// mtLogs is a log sink safe for concurrent writers.
type mtLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *mtLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *mtLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines decodes the JSON log lines.
func (l *mtLogs) lines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			tb.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

// TestLogsCarryNoSecrets runs a session with the hub logging at debug level
// and checks that no token or message text reaches the log, and that every
// socket's end is logged once with its code and reason.
func TestLogsCarryNoSecrets(t *testing.T) {
	logs := &mtLogs{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.Logger = log }})
	const secretText = "DISTINCTIVE-message-text-7f3a91"
	alice := e.user("alice")

	// A socket with its token in the query, as a browser may send it.
	c1, _, err := e.dialHeader(nil, queryToken(alice.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	userID, _ := c1.welcome["user"].(map[string]any)["id"].(string)
	if userID == "" {
		t.Fatalf("welcome without a user id: %v", c1.welcome)
	}
	c1.join("secrets", -1)
	c1.sendMsg("secrets", secretText)
	c1.expect("message")
	c1.send(frame{"type": "auth", "token": "NOT-A-JWT-SECRETAUTH"})
	c1.expect("error")
	mtCloseNormal(t, c1)

	// A socket closed by the server: a binary frame gets 1003.
	c2 := e.dial(alice.AccessToken)
	c2.sendRaw(websocket.BinaryMessage, []byte(secretText))
	if code, _ := c2.expectClose(5 * time.Second); code != websocket.CloseUnsupportedData {
		t.Fatalf("binary frame closed with %d, want 1003", code)
	}

	// A refused handshake with a bad token in the query.
	if _, resp, err := e.dialHeader(nil, "access_token=SECRETTOKEN"); err == nil || status(resp) != http.StatusUnauthorized {
		t.Fatalf("bad token: err %v, status %d; want a 401", err, status(resp))
	}

	// Both disconnects are logged once, asynchronously.
	want := map[float64]string{1000: "normal", 1003: "binary_not_supported"}
	var closed []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		closed = closed[:0]
		for _, rec := range logs.lines(t) {
			if rec["msg"] == "websocket closed" {
				closed = append(closed, rec)
			}
		}
		if len(closed) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a second line for a socket would come now
	closed = closed[:0]
	for _, rec := range logs.lines(t) {
		if rec["msg"] == "websocket closed" {
			closed = append(closed, rec)
		}
	}
	if len(closed) != len(want) {
		t.Fatalf("%d disconnect lines for 2 sockets:\n%s", len(closed), logs)
	}
	seen := map[any]bool{}
	for _, rec := range closed {
		code, _ := rec["code"].(float64)
		if reason, ok := rec["reason"].(string); !ok || reason != want[code] {
			t.Errorf("disconnect line %v: want code %v with reason %q", rec, code, want[code])
		}
		if rec["conn_id"] == nil || rec["user_id"] != userID {
			t.Errorf("disconnect line %v lacks conn_id or user_id", rec)
		}
		if seen[rec["conn_id"]] {
			t.Errorf("socket %v logged its end twice", rec["conn_id"])
		}
		seen[rec["conn_id"]] = true
	}

	all := logs.String()
	for _, secret := range []string{"SECRETTOKEN", "SECRETAUTH", alice.AccessToken, alice.RefreshToken, secretText, "access_token"} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds %q:\n%s", secret, all)
		}
	}
}
