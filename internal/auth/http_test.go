package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		header   http.Header
		want     string
		wantSub  bool
		wantCode string
		noToken  bool
	}{
		{name: "nothing", url: "/ws", wantCode: chat.CodeInvalidToken, noToken: true},
		{name: "header", url: "/ws", header: http.Header{"Authorization": {"Bearer h.h.h"}}, want: "h.h.h"},
		{name: "header scheme case", url: "/ws", header: http.Header{"Authorization": {"bearer h.h.h"}}, want: "h.h.h"},
		{name: "header wins over the rest", url: "/ws?access_token=q.q.q",
			header: http.Header{"Authorization": {"Bearer h.h.h"}, "Sec-Websocket-Protocol": {"chat.v1, access_token.s.s.s"}}, want: "h.h.h"},
		{name: "basic header is the source and is refused", url: "/ws?access_token=q.q.q",
			header: http.Header{"Authorization": {"Basic YWxpY2U6cHc="}}, wantCode: chat.CodeInvalidToken},
		{name: "empty bearer", url: "/ws", header: http.Header{"Authorization": {"Bearer "}}, wantCode: chat.CodeInvalidToken},
		{name: "subprotocol", url: "/ws", header: http.Header{"Sec-Websocket-Protocol": {"chat.v1, access_token.s.s.s"}}, want: "s.s.s", wantSub: true},
		{name: "subprotocol token first", url: "/ws", header: http.Header{"Sec-Websocket-Protocol": {"access_token.s.s.s,chat.v1"}}, want: "s.s.s", wantSub: true},
		{name: "subprotocol over two header lines", url: "/ws", header: http.Header{"Sec-Websocket-Protocol": {"access_token.s.s.s", "chat.v1"}}, want: "s.s.s", wantSub: true},
		{name: "subprotocol wins over query", url: "/ws?access_token=q.q.q", header: http.Header{"Sec-Websocket-Protocol": {"chat.v1, access_token.s.s.s"}}, want: "s.s.s", wantSub: true},
		{name: "subprotocol without chat.v1", url: "/ws?access_token=q.q.q", header: http.Header{"Sec-Websocket-Protocol": {"access_token.s.s.s"}}, wantSub: true, wantCode: chat.CodeInvalidRequest},
		{name: "subprotocol beside another protocol only", url: "/ws", header: http.Header{"Sec-Websocket-Protocol": {"chat.v2, access_token.s.s.s"}}, wantSub: true, wantCode: chat.CodeInvalidRequest},
		{name: "subprotocol empty token", url: "/ws", header: http.Header{"Sec-Websocket-Protocol": {"chat.v1, access_token."}}, wantSub: true, wantCode: chat.CodeInvalidToken},
		{name: "chat.v1 alone then query", url: "/ws?access_token=q.q.q", header: http.Header{"Sec-Websocket-Protocol": {"chat.v1"}}, want: "q.q.q"},
		{name: "query", url: "/ws?access_token=q.q.q", want: "q.q.q"},
		{name: "empty query", url: "/ws?access_token=", wantCode: chat.CodeInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.url, nil)
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			tok, sub, err := TokenFromRequest(r)
			if got := chat.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code %q (err %v), want %q", got, err, tt.wantCode)
			}
			if tok != tt.want || sub != tt.wantSub {
				t.Fatalf("TokenFromRequest = %q, %v; want %q, %v", tok, sub, tt.want, tt.wantSub)
			}
			if tt.wantCode != "" && tt.wantCode != chat.CodeInvalidRequest {
				if !errors.Is(err, chat.ErrInvalidToken) {
					t.Fatalf("err %v is not chat.ErrInvalidToken", err)
				}
				wantChallenge := `Bearer error="invalid_token"`
				if tt.noToken {
					wantChallenge = "Bearer"
				}
				if got := Challenge(err); got != wantChallenge {
					t.Fatalf("Challenge = %q, want %q", got, wantChallenge)
				}
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errNoToken, "Bearer"},
		{chat.ErrInvalidToken, `Bearer error="invalid_token"`},
		{chat.ErrTokenExpired, `Bearer error="invalid_token", error_description="the access token expired"`},
		{errors.New("store down"), ""},
		{chat.Errorf(chat.CodeInvalidRequest, "x"), ""},
	}
	for _, tt := range tests {
		if got := Challenge(tt.err); got != tt.want {
			t.Errorf("Challenge(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{name: "direct", remote: "203.0.113.7:5555", want: "203.0.113.7"},
		{name: "direct ignores xff", remote: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, trusted: trusted, want: "203.0.113.7"},
		{name: "no trusted proxies ignores xff", remote: "10.1.2.3:80", xff: []string{"198.51.100.1"}, want: "10.1.2.3"},
		{name: "trusted proxy", remote: "10.1.2.3:80", xff: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "spoofed left entries ignored", remote: "10.1.2.3:80", xff: []string{"1.1.1.1, 198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "chain of trusted proxies", remote: "10.1.2.3:80", xff: []string{"6.6.6.6, 198.51.100.1, 10.9.9.9, 10.8.8.8"}, trusted: trusted, want: "198.51.100.1"},
		{name: "several header lines", remote: "10.1.2.3:80", xff: []string{"6.6.6.6, 198.51.100.1", "10.9.9.9"}, trusted: trusted, want: "198.51.100.1"},
		{name: "all trusted gives left-most", remote: "10.1.2.3:80", xff: []string{"10.5.5.5, 10.9.9.9"}, trusted: trusted, want: "10.5.5.5"},
		{name: "trusted proxy without xff", remote: "10.1.2.3:80", trusted: trusted, want: "10.1.2.3"},
		{name: "garbage entry stops the walk", remote: "10.1.2.3:80", xff: []string{"6.6.6.6, garbage, 10.9.9.9"}, trusted: trusted, want: "10.9.9.9"},
		{name: "entry with port", remote: "10.1.2.3:80", xff: []string{"198.51.100.1:4711"}, trusted: trusted, want: "198.51.100.1"},
		{name: "ipv6 peer", remote: "[2001:db8::1]:443", want: "2001:db8::1"},
		{name: "ipv6 trusted proxy", remote: "[fd00::1]:443", xff: []string{"2001:db8::2"}, trusted: trusted, want: "2001:db8::2"},
		{name: "ipv4-mapped peer", remote: "[::ffff:10.1.2.3]:80", xff: []string{"198.51.100.1"}, trusted: trusted, want: "198.51.100.1"},
		{name: "unparsable remote", remote: "@", want: "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, tt.trusted); got != tt.want {
				t.Fatalf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRefreshToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash, err := NewRefreshToken()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q: %d bytes, %v; want 32 bytes of base64url", tok, len(raw), err)
		}
		if len(tok) != 43 {
			t.Fatalf("token %q has %d characters, want 43", tok, len(tok))
		}
		sum := sha256.Sum256([]byte(tok))
		if string(hash) != string(sum[:]) || string(HashRefreshToken(tok)) != string(sum[:]) {
			t.Fatal("hash is not the SHA-256 of the token")
		}
		if seen[tok] {
			t.Fatalf("token %q repeated", tok)
		}
		seen[tok] = true
	}
}
