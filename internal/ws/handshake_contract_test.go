package ws_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
)

// TestHandshakeFirstSourceOnly checks that the access token is read from
// the first source present (the Authorization header, then a
// Sec-WebSocket-Protocol entry, then the query) and from that one only: a
// bad token in an earlier source is refused though a later one holds a
// good token, and a good one in an earlier source is enough though a later
// one is bad.
func TestHandshakeFirstSourceOnly(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{})
	good := e.user("alice").AccessToken
	const bad = "abc.def.ghi"
	tests := []struct {
		name   string
		header http.Header
		query  string
		ok     bool
	}{
		{"bad header, good subprotocol", http.Header{"Authorization": {"Bearer " + bad}, "Sec-WebSocket-Protocol": {"chat.v1, access_token." + good}}, "", false},
		{"bad header, good query", http.Header{"Authorization": {"Bearer " + bad}}, queryToken(good), false},
		{"bad subprotocol, good query", http.Header{"Sec-WebSocket-Protocol": {"chat.v1, access_token." + bad}}, queryToken(good), false},
		{"good header, bad subprotocol", http.Header{"Authorization": {"Bearer " + good}, "Sec-WebSocket-Protocol": {"chat.v1, access_token." + bad}}, "", true},
		{"good header, bad query", http.Header{"Authorization": {"Bearer " + good}}, queryToken(bad), true},
		{"good subprotocol, bad query", http.Header{"Sec-WebSocket-Protocol": {"chat.v1, access_token." + good}}, queryToken(bad), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := e.dialHeader(tc.header, tc.query)
			if tc.ok {
				if err != nil {
					t.Fatalf("dial: %v (status %d)", err, status(resp))
				}
				c.c.Close()
				return
			}
			if err == nil {
				t.Fatal("upgraded with the later source's token")
			}
			if status(resp) != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", status(resp))
			}
			var body chat.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != chat.CodeInvalidToken {
				t.Fatalf("body %+v (%v), want invalid_token", body, err)
			}
		})
	}
}

// TestTooManyConnectionsBody checks that the socket past
// CHAT_WS_MAX_CONNS_PER_USER gets 429 with the JSON error
// too_many_connections, and no upgrade.
func TestTooManyConnectionsBody(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.MaxConnsPerUser = 1 }})
	tok := e.user("alice").AccessToken
	e.dial(tok)
	_, resp, err := e.dialHeader(http.Header{"Authorization": {"Bearer " + tok}}, "")
	if err == nil {
		t.Fatal("second socket upgraded past the cap of 1")
	}
	if status(resp) != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", status(resp))
	}
	var body chat.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code != "too_many_connections" || body.Error.Message == "" {
		t.Fatalf("body %+v (%v), want too_many_connections", body, err)
	}
}

// TestAuthFrameExpiredToken checks that an auth frame with an expired
// token of the same session gets error token_expired with its ref and
// changes nothing: the socket lives on, until its first token's expiry.
func TestAuthFrameExpiredToken(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{accessTTL: 2 * time.Second})
	pair := e.user("alice")
	c := e.dial(pair.AccessToken)
	claims, err := e.auth.Authenticate(t.Context(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.db.UserByID(t.Context(), claims.UserID)
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := e.tokensAt(-time.Hour).Issue(u, claims.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.send(frame{"type": "auth", "token": old, "ref": "a1"})
	f := c.expect("error")
	if f.str("code") != chat.CodeTokenExpired || f.str("ref") != "a1" {
		t.Fatalf("auth with an expired token: %v, want error token_expired ref a1", f)
	}
	c.send(frame{"type": "leave", "room": "x", "ref": "l1"})
	if f := c.expect("left"); f.str("ref") != "l1" {
		t.Fatalf("after the refused auth: %v", f)
	}
	// The refused token did not shorten nor lengthen the socket's life.
	code, reason := c.expectClose(10 * time.Second)
	if code != 4001 || reason != "token_expired" {
		t.Fatalf("closed with %d %q, want 4001 token_expired", code, reason)
	}
	if d := time.Since(start); d < time.Second || d > 9*time.Second {
		t.Fatalf("closed %v after the refused auth; the first token lived 2 s (plus leeway)", d)
	}
}
