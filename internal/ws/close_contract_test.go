package ws_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/ws"
)

// TestCloseCodesCounted checks, for every way a socket ends, the close code
// and reason the client sees and the code label of
// chat_ws_disconnects_total that counts it: the code sent or received from
// the contract's table, 1006 for a connection that ended without a close
// frame (heartbeat timeouts included), and other for a code a client sent
// that is not in the table. Each case counts once, under its label only.
func TestCloseCodesCounted(t *testing.T) {
	type setup struct {
		e      *env
		c      *client
		revoke func()
	}
	tests := []struct {
		name   string
		opts   envOpts
		act    func(t *testing.T, s setup)
		code   int    // seen by the client; 1006 for none
		reason string // seen by the client, when code is not 1006
		label  string
	}{
		{name: "client closes normally", act: func(t *testing.T, s setup) {
			s.c.writeRaw(clientFrame(websocket.CloseMessage, true, websocket.FormatCloseMessage(1000, "")))
		}, code: 1000, label: "1000"},
		{name: "client goes away", act: func(t *testing.T, s setup) {
			s.c.writeRaw(clientFrame(websocket.CloseMessage, true, websocket.FormatCloseMessage(1001, "")))
		}, code: 1001, label: "1001"},
		{name: "client code outside the table", act: func(t *testing.T, s setup) {
			s.c.writeRaw(clientFrame(websocket.CloseMessage, true, websocket.FormatCloseMessage(4321, "bye")))
		}, code: 4321, label: "other"},
		{name: "binary frame", act: func(t *testing.T, s setup) {
			s.c.sendRaw(websocket.BinaryMessage, []byte(`{"type":"leave","room":"x"}`))
		}, code: 1003, reason: "binary_not_supported", label: "1003"},
		{name: "invalid utf8", act: func(t *testing.T, s setup) {
			s.c.sendRaw(websocket.TextMessage, []byte("{\"type\":\"leave\",\"room\":\"\xc3\x28\"}"))
		}, code: 1007, reason: "invalid_utf8", label: "1007"},
		{name: "message too large", opts: envOpts{ws: func(o *ws.Options) { o.MaxFrameBytes = 4096 }}, act: func(t *testing.T, s setup) {
			s.c.sendRaw(websocket.TextMessage, bytes.Repeat([]byte("a"), 5000))
		}, code: 1009, reason: "message_too_large", label: "1009"},
		{name: "token expired", opts: envOpts{accessTTL: time.Second}, act: func(t *testing.T, s setup) {},
			code: 4001, reason: "token_expired", label: "4001"},
		{name: "session revoked", act: func(t *testing.T, s setup) { s.revoke() },
			code: 4003, reason: "session_revoked", label: "4003"},
		{name: "shutdown", act: func(t *testing.T, s setup) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.e.hub.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		}, code: 1001, reason: "going_away", label: "1001"},
		{name: "connection cut", act: func(t *testing.T, s setup) {
			_ = s.c.c.NetConn().Close()
		}, code: 1006, label: "1006"},
		{name: "heartbeat timeout", opts: envOpts{hub: func(o *hub.Options) {
			o.PingInterval = 100 * time.Millisecond
			o.PongTimeout = 100 * time.Millisecond
		}}, act: func(t *testing.T, s setup) {}, code: 1006, label: "1006"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "sqlite", tc.opts)
			pair := e.user("alice")
			var c *client
			if tc.name == "heartbeat timeout" {
				// A client that never answers a ping: it never reads.
				wc, _, err := websocket.DefaultDialer.Dial(e.wsURL, map[string][]string{"Authorization": {"Bearer " + pair.AccessToken}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { wc.Close() })
			} else {
				c = e.dial(pair.AccessToken)
			}
			waitGauge(t, "open sockets", e.m.WSConnections, 1)
			tc.act(t, setup{e: e, c: c, revoke: func() {
				if err := e.auth.Logout(t.Context(), pair.RefreshToken); err != nil {
					t.Fatal(err)
				}
			}})
			if c != nil && tc.name != "connection cut" {
				code, reason := c.expectClose(5 * time.Second)
				if code != tc.code || (tc.reason != "" && reason != tc.reason) {
					t.Fatalf("closed with %d %q, want %d %q", code, reason, tc.code, tc.reason)
				}
			}
			waitGauge(t, "open sockets", e.m.WSConnections, 0)
			waitGauge(t, `chat_ws_disconnects_total{code="`+tc.label+`"}`, e.m.WSDisconnects.WithLabelValues(tc.label), 1)
			total := 0.0
			for _, l := range []string{"1000", "1001", "1003", "1006", "1007", "1008", "1009", "1011", "1013", "4001", "4003", "4008", "other"} {
				total += testutil.ToFloat64(e.m.WSDisconnects.WithLabelValues(l))
			}
			if total != 1 {
				t.Fatalf("chat_ws_disconnects_total over every code = %v, want 1", total)
			}
		})
	}
}
