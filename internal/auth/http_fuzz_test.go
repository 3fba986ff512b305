package auth

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

// FuzzTokenFromRequest checks the token extraction of a WebSocket
// handshake on arbitrary headers and query: it never panics, reads only
// the first source present, and what it returns is, byte for byte, in the
// source it came from.
func FuzzTokenFromRequest(f *testing.F) {
	f.Add("Bearer h.h.h", "", "")
	f.Add("", "chat.v1, access_token.s.s.s", "access_token=q")
	f.Add("", "access_token.s.s.s", "")
	f.Add("", " access_token.a , chat.v1,access_token.b", "")
	f.Add("", "chat.v1", "access_token=q.q&access_token=r")
	f.Add("", "", "access_token=%zz")
	f.Add("Basic x", "chat.v1, access_token.s", "access_token=q")
	f.Add("bearer   ", "", "")
	f.Fuzz(func(t *testing.T, authz, protocols, query string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{Path: "/ws", RawQuery: query}}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if protocols != "" {
			r.Header.Set("Sec-WebSocket-Protocol", protocols)
		}
		tok, sub, err := TokenFromRequest(r)
		if err != nil {
			if c := chat.ErrorCode(err); c != chat.CodeInvalidToken && c != chat.CodeInvalidRequest {
				t.Fatalf("error code %q (%v)", c, err)
			}
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
			return
		}
		if tok == "" {
			t.Fatal("empty token without an error")
		}
		var entries []string
		for e := range strings.SplitSeq(protocols, ",") {
			entries = append(entries, strings.TrimSpace(e))
		}
		switch {
		case authz != "":
			if sub || !strings.HasSuffix(strings.TrimSpace(authz), tok) || strings.TrimSpace(tok) != tok {
				t.Fatalf("Authorization %q gave %q (subprotocol %v)", authz, tok, sub)
			}
		case sub:
			if !slices.Contains(entries, chat.SubprotocolTokenPrefix+tok) || !slices.Contains(entries, chat.Subprotocol) {
				t.Fatalf("protocols %q gave %q", protocols, tok)
			}
		default:
			if slices.ContainsFunc(entries, func(e string) bool { return strings.HasPrefix(e, chat.SubprotocolTokenPrefix) }) {
				t.Fatalf("a subprotocol token entry in %q was passed over for the query", protocols)
			}
			if vs, _ := url.ParseQuery(query); len(vs["access_token"]) == 0 || vs["access_token"][0] != tok {
				t.Fatalf("query %q gave %q", query, tok)
			}
		}
	})
}

// FuzzClientIP checks that ClientIP never panics and returns the peer's
// address unless the peer is a trusted proxy, and otherwise an address
// that is the peer's or one named in X-Forwarded-For.
func FuzzClientIP(f *testing.F) {
	f.Add("10.1.2.3:80", "6.6.6.6, 198.51.100.1, 10.9.9.9")
	f.Add("203.0.113.7:5555", "198.51.100.1")
	f.Add("[fd00::1]:443", "2001:db8::2%eth0, [2001:db8::3]:1")
	f.Add("@", "1.1.1.1")
	f.Add("[::ffff:10.1.2.3]:80", "garbage, ::ffff:1.2.3.4")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := &http.Request{Header: http.Header{}, RemoteAddr: remote}
		r.Header.Set("X-Forwarded-For", xff)
		got := ClientIP(r, trusted)
		peer, ok := parseAddr(remote)
		if !ok {
			if got != remote {
				t.Fatalf("ClientIP with unparsable peer %q = %q", remote, got)
			}
			return
		}
		if !inPrefixes(peer, trusted) {
			if got != peer.String() {
				t.Fatalf("ClientIP of untrusted peer %q = %q", remote, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a != a.Unmap().WithZone("") {
			t.Fatalf("ClientIP(%q, %q) = %q, not a plain address", remote, xff, got)
		}
		if a == peer {
			return
		}
		for e := range strings.SplitSeq(xff, ",") {
			if b, ok := parseAddr(strings.TrimSpace(e)); ok && b == a {
				return
			}
		}
		t.Fatalf("ClientIP(%q, %q) = %q, neither the peer nor named in X-Forwarded-For", remote, xff, got)
	})
}
