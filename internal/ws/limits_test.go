package ws_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/ws"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCloseCodes(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{ws: func(o *ws.Options) { o.MaxFrameBytes = 4096 }})
	tok := e.user("alice").AccessToken
	tests := []struct {
		name   string
		typ    int
		data   []byte
		code   int
		reason string
	}{
		{"binary", websocket.BinaryMessage, []byte(`{"type":"join","room":"x"}`), 1003, "binary_not_supported"},
		{"invalid utf8", websocket.TextMessage, []byte("{\"type\":\"send\",\"text\":\"\xff\xfe\"}"), 1007, "invalid_utf8"},
		{"too large", websocket.TextMessage, bytes.Repeat([]byte("a"), 5000), 1009, "message_too_large"},
		// Compressed, this is a few hundred bytes; inflated it is 10 MB.
		{"deflate bomb", websocket.TextMessage, bytes.Repeat([]byte(" "), 10<<20), 1009, "message_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(tok)
			c.c.EnableWriteCompression(true)
			_ = c.c.WriteMessage(tc.typ, tc.data) // may fail once the server closed
			code, reason := c.expectClose(5 * time.Second)
			if code != tc.code || reason != tc.reason {
				t.Fatalf("closed with %d %q, want %d %q", code, reason, tc.code, tc.reason)
			}
		})
	}
	// The deflate bomb crossed the wire compressed: far fewer bytes than it inflates to.
	if got := testutil.ToFloat64(e.m.WSWireBytesReceived); got > 1<<20 {
		t.Fatalf("wire bytes received %v: compression not in effect", got)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.RateMsgs = 1; o.RateBurst = 3 }})
	c := e.dialUser("alice")
	for range 3 {
		c.send(frame{"type": "leave", "room": "x"})
		c.expect("left")
	}
	c.send(frame{"type": "leave", "room": "x", "ref": "over"})
	f := c.expect("error")
	if f.str("code") != "rate_limited" || f.str("ref") != "over" || f.str("room") != "x" {
		t.Fatalf("got %v", f)
	}
	if got := testutil.ToFloat64(e.m.RateLimitedWS); got != 1 {
		t.Fatalf("chat_rate_limited_total{scope=ws} = %v", got)
	}
	time.Sleep(1100 * time.Millisecond)
	c.send(frame{"type": "leave", "room": "x"})
	c.expect("left")
}

func TestHeartbeat(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) {
		// Long enough that the socket answering pings is not cut off by a
		// loaded machine's scheduling delays.
		o.PingInterval = 300 * time.Millisecond
		o.PongTimeout = 300 * time.Millisecond
	}})
	tok := e.user("alice").AccessToken
	alive := e.dial(tok) // answers pings
	if alive.welcome.num("heartbeat_ms") != 300 {
		t.Fatalf("heartbeat_ms = %v", alive.welcome["heartbeat_ms"])
	}
	mute, _, err := websocket.DefaultDialer.Dial(e.wsURL, http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	mute.SetPingHandler(func(string) error { return nil }) // never answers
	start := time.Now()
	_ = mute.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := mute.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("mute socket got close %d, want none (1006)", ce.Code)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("mute socket never closed")
		}
		break
	}
	if d := time.Since(start); d < 550*time.Millisecond {
		t.Fatalf("closed after %s, before interval + timeout", d)
	}
	if got := testutil.ToFloat64(e.m.WSHeartbeatTimeouts); got != 1 {
		t.Fatalf("heartbeat timeouts = %v", got)
	}
	// The socket that answers pings is still usable.
	alive.send(frame{"type": "leave", "room": "x"})
	alive.expect("left")
}

func TestSlowConsumer(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.SendQueue = 64 }})
	tok := e.user("slow").AccessToken
	// The slow socket never reads until it is closed: the kernel buffers
	// fill, then its queue overflows.
	d := websocket.Dialer{}
	slow, _, err := d.Dial(e.wsURL, http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if err := slow.WriteJSON(frame{"type": "join", "room": "flood"}); err != nil {
		t.Fatal(err)
	}
	sender := e.dialUser("fast")
	sender.join("flood", -1)
	text := strings.Repeat("€", 4000) // 12 KB a message
	deadline := time.Now().Add(60 * time.Second)
	for n := 0; testutil.ToFloat64(e.m.WSSlowConsumerDisconnects) == 0; n++ {
		if time.Now().After(deadline) {
			t.Fatalf("slow socket never closed; delivered %v", testutil.ToFloat64(e.m.MessagesDelivered))
		}
		// Collecting the acks of each burst: the sender is answered all
		// along.
		sender.sendBurst("flood", text, n)
	}
	// The slow reader now drains what was written and finds the close.
	_ = slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	got := 0
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			got++
			continue
		}
		ce, ok := err.(*websocket.CloseError)
		if !ok || ce.Code != 4008 || ce.Text != "too_slow" {
			t.Fatalf("slow socket ended with %v after %d frames at %v, want 4008 too_slow", err, got, time.Now())
		}
		break
	}
	// The server counts the disconnect once the close handshake ends.
	deadline = time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(e.m.WSDisconnects.WithLabelValues("4008")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("disconnects{code=4008} = %v", testutil.ToFloat64(e.m.WSDisconnects.WithLabelValues("4008")))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTokenExpiry(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{accessTTL: time.Second})
		p := e.user("alice")
		c := e.dial(p.AccessToken)
		start := time.Now()
		code, reason := c.expectClose(5 * time.Second)
		if code != 4001 || reason != "token_expired" {
			t.Fatalf("closed with %d %q, want 4001", code, reason)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Fatalf("closed %s after connect, token lived 1s", d)
		}

		// An auth frame with a fresh token of the same session extends the
		// socket past the first token's expiry. Tokens may live no longer
		// than the configured lifetime, so this part runs with 3 s tokens.
		e2 := newEnv(t, dialect, envOpts{accessTTL: 3 * time.Second})
		p2 := e2.user("bob")
		c2 := e2.dial(p2.AccessToken)
		claims, err := e2.auth.Authenticate(t.Context(), p2.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		longer, err := auth.NewTokens(auth.TokenOptions{Secret: []byte(testSecret), Issuer: "chat", AccessTTL: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := e2.db.UserByID(t.Context(), claims.UserID)
		fresh, exp, err := longer.Issue(u, claims.SessionID)
		if err != nil {
			t.Fatal(err)
		}
		c2.send(frame{"type": "auth", "token": fresh, "ref": "a1"})
		f := c2.expect("authed")
		if f.str("ref") != "a1" || f.str("expires_at") != exp.UTC().Format("2006-01-02T15:04:05.000Z") {
			t.Fatalf("authed = %v (want expires_at %v)", f, exp)
		}
		// A token of another session is refused and changes nothing.
		other, _, _ := longer.Issue(u, "another-session")
		c2.send(frame{"type": "auth", "token": other, "ref": "a2"})
		if f := c2.expect("error"); f.str("code") != "invalid_token" {
			t.Fatalf("foreign session token: %v", f)
		}
		time.Sleep(1500 * time.Millisecond) // past the first token's expiry
		c2.send(frame{"type": "leave", "room": "x"})
		c2.expect("left")
	})
}

func TestRevokeClosesWithin1s(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		p := e.user("alice")
		a := e.dial(p.AccessToken)
		b := e.dial(p.AccessToken)
		other := e.dialUser("bob")
		start := time.Now()
		if err := e.auth.Logout(t.Context(), p.RefreshToken); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client{a, b} {
			code, reason := c.expectClose(time.Second)
			if code != 4003 || reason != "session_revoked" {
				t.Fatalf("closed with %d %q, want 4003", code, reason)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("revocation took %s", d)
		}
		other.send(frame{"type": "leave", "room": "x"})
		other.expect("left")
	})
}

func TestShutdownAcksAndCloses(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		var url string
		if dialect == "sqlite" {
			url = "sqlite:" + t.TempDir() + "/chat.db"
		}
		e := newEnv(t, dialect, envOpts{dbURL: url})
		if url == "" {
			url = e.dbURL
		}
		c := e.dialUser("alice")
		c.join("keep", -1)
		var acked []frame
		for range 5 {
			acked = append(acked, c.sendMsg("keep", "before shutdown"))
		}
		c.send(frame{"type": "send", "room": "keep", "text": "last one", "ref": "last"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.hub.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		var lastAcked bool
		for {
			f, err := c.tryRead(5 * time.Second)
			if err != nil {
				ce, ok := err.(*websocket.CloseError)
				if !ok || ce.Code != 1001 || ce.Text != "going_away" {
					t.Fatalf("ended with %v, want 1001 going_away", err)
				}
				break
			}
			if f.str("type") == "ack" && f.str("ref") == "last" {
				lastAcked = true
			}
		}
		e.srv.Close()
		_ = e.db.Close()

		e2 := newEnv(t, dialect, envOpts{dbURL: url})
		c2 := e2.dial(e2.user("alice").AccessToken)
		msgs, j := c2.join("keep", 0)
		want := len(acked)
		if lastAcked {
			want++
		}
		if len(msgs) < want || j.num("last_seq") < int64(want) {
			t.Fatalf("after restart: %d messages (last_seq %d), %d were acked", len(msgs), j.num("last_seq"), want)
		}
	})
}

// panicAuth panics for one token, standing in for a bug in a frame handler.
type panicAuth struct{ hub.Authenticator }

func (p panicAuth) Authenticate(ctx context.Context, token string) (auth.Claims, error) {
	if token == "boom" {
		panic("authenticator bug")
	}
	return p.Authenticator.Authenticate(ctx, token)
}

func TestPanicClosesOnlyThatSocket(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.Auth = panicAuth{o.Auth} }})
	tok := e.user("alice").AccessToken
	bystander := e.dial(tok)
	bystander.join("calm", -1)
	c := e.dial(tok)
	c.send(map[string]any{"type": "auth", "token": "boom"})
	code, reason := c.expectClose(5 * time.Second)
	if code != websocket.CloseInternalServerErr || reason != "internal" {
		t.Fatalf("close %d %q, want 1011 internal", code, reason)
	}
	// The process and the other sockets go on.
	if f := bystander.sendMsg("calm", "still here"); f.num("seq") != 1 {
		t.Fatalf("bystander's send after the panic: %v", f)
	}
	e.dial(tok).join("calm", -1)
	if got := testutil.ToFloat64(e.m.WSDisconnects.WithLabelValues("1011")); got != 1 {
		t.Errorf("disconnects{code=1011} = %v, want 1", got)
	}
}
