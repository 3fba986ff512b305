package ws_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/ws"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHandshake(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.MaxConnsPerUser = 2 }})
	pair := e.user("alice")
	expired, _, err := e.tokensAt(-time.Hour).Issue(chat.User{ID: "x", Username: "alice"}, "s")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		header   http.Header
		query    string
		status   int
		code     string
		protocol string
	}{
		{name: "bearer header", header: http.Header{"Authorization": {"Bearer " + pair.AccessToken}}, status: 101},
		{name: "subprotocol", header: http.Header{"Sec-WebSocket-Protocol": {"chat.v1, access_token." + pair.AccessToken}}, status: 101, protocol: "chat.v1"},
		{name: "query", query: queryToken(pair.AccessToken), status: 101},
		{name: "missing", status: 401, code: chat.CodeInvalidToken},
		{name: "garbage", header: http.Header{"Authorization": {"Bearer abc.def.ghi"}}, status: 401, code: chat.CodeInvalidToken},
		{name: "expired", header: http.Header{"Authorization": {"Bearer " + expired}}, status: 401, code: chat.CodeTokenExpired},
		{name: "token entry without chat.v1", header: http.Header{"Sec-WebSocket-Protocol": {"access_token." + pair.AccessToken}}, status: 400, code: chat.CodeInvalidRequest},
		{name: "foreign origin", header: http.Header{"Authorization": {"Bearer " + pair.AccessToken}, "Origin": {"https://evil.example"}}, status: 403, code: chat.CodeOriginNotAllowed},
		{name: "null origin", header: http.Header{"Authorization": {"Bearer " + pair.AccessToken}, "Origin": {"null"}}, status: 403, code: chat.CodeOriginNotAllowed},
		{name: "same-host origin", header: http.Header{"Authorization": {"Bearer " + pair.AccessToken}, "Origin": {"http://" + e.srv.Listener.Addr().String()}}, status: 101},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := e.dialHeader(tc.header, tc.query)
			if tc.status == 101 {
				if err != nil {
					t.Fatalf("dial: %v (status %d)", err, status(resp))
				}
				if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tc.protocol {
					t.Fatalf("selected subprotocol %q, want %q", got, tc.protocol)
				}
				w := c.expect("welcome")
				if w.str("session_id") == "" || w.num("heartbeat_ms") != 25000 {
					t.Fatalf("welcome = %v", w)
				}
				if u, _ := w["user"].(map[string]any); u["username"] != "alice" || u["id"] == "" {
					t.Fatalf("welcome user = %v", w["user"])
				}
				c.c.Close()
				time.Sleep(50 * time.Millisecond) // let the cap count the close
				return
			}
			if err == nil {
				t.Fatal("upgrade succeeded")
			}
			if status(resp) != tc.status {
				t.Fatalf("status %d, want %d", status(resp), tc.status)
			}
			var body chat.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tc.code {
				t.Fatalf("code %q, want %q", body.Error.Code, tc.code)
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}

	t.Run("allow list", func(t *testing.T) {
		e2 := newEnv(t, "sqlite", envOpts{ws: func(o *ws.Options) { o.AllowedOrigins = []string{"https://chat.example"} }})
		p := e2.user("bob")
		h := http.Header{"Authorization": {"Bearer " + p.AccessToken}, "Origin": {"https://chat.example"}}
		if _, resp, err := e2.dialHeader(h, ""); err != nil {
			t.Fatalf("listed origin refused: %v %d", err, status(resp))
		}
		h.Set("Origin", "http://"+e2.srv.Listener.Addr().String())
		if _, resp, err := e2.dialHeader(h, ""); err == nil || status(resp) != 403 {
			t.Fatalf("unlisted same-host origin: err %v status %d", err, status(resp))
		}
	})

	t.Run("connection cap", func(t *testing.T) {
		p := e.user("carol")
		a := e.dial(p.AccessToken)
		b := e.dial(p.AccessToken)
		_, resp, err := e.dialHeader(http.Header{"Authorization": {"Bearer " + p.AccessToken}}, "")
		if err == nil || status(resp) != 429 {
			t.Fatalf("third socket: err %v status %d", err, status(resp))
		}
		a.c.Close()
		deadline := time.Now().Add(3 * time.Second)
		for {
			c, _, err := e.dialHeader(http.Header{"Authorization": {"Bearer " + p.AccessToken}}, "")
			if err == nil {
				c.c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("slot not freed after close")
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = b
	})

	t.Run("revoked session", func(t *testing.T) {
		p := e.user("dave")
		if err := e.auth.Logout(t.Context(), p.RefreshToken); err != nil {
			t.Fatal(err)
		}
		_, resp, err := e.dialHeader(http.Header{"Authorization": {"Bearer " + p.AccessToken}}, "")
		if err == nil || status(resp) != 401 {
			t.Fatalf("revoked token: err %v status %d", err, status(resp))
		}
	})
}

func TestCompressionNegotiated(t *testing.T) {
	for _, on := range []bool{true, false} {
		e := newEnv(t, "sqlite", envOpts{ws: func(o *ws.Options) { o.Compression = on }})
		p := e.user("alice")
		d := websocket.Dialer{EnableCompression: true}
		_, resp, err := e.dialWith(d, http.Header{"Authorization": {"Bearer " + p.AccessToken}}, "")
		if err != nil {
			t.Fatal(err)
		}
		got := resp.Header.Get("Sec-WebSocket-Extensions") != ""
		if got != on {
			t.Fatalf("compression on=%v: extensions header %q", on, resp.Header.Get("Sec-WebSocket-Extensions"))
		}
	}
}

// TestHandshakeStoreDown checks that a token that cannot be checked, because
// the store is unreachable, is answered 503 with Retry-After and never as a
// bad token.
func TestHandshakeStoreDown(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	pair := e.user("alice")
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	_, resp, err := e.dialHeader(http.Header{"Authorization": {"Bearer " + pair.AccessToken}}, "")
	if err == nil {
		t.Fatal("upgrade succeeded with the store closed")
	}
	if status(resp) != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", status(resp))
	}
	if resp.Header.Get("Retry-After") == "" || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("Retry-After %q, WWW-Authenticate %q", resp.Header.Get("Retry-After"), resp.Header.Get("WWW-Authenticate"))
	}
	var body chat.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Code != chat.CodeUnavailable {
		t.Fatalf("code %q, want %q", body.Error.Code, chat.CodeUnavailable)
	}
	if got := testutil.ToFloat64(e.m.WSUpgradeFailures.WithLabelValues("unavailable")); got != 1 {
		t.Fatalf("upgrade failures{reason=unavailable} = %v", got)
	}
}
