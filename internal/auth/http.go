package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/chatsvc/chat/internal/chat"
)

// errNoToken reports a request that carries no access token at all. It has
// code invalid_token; Challenge answers it without an error attribute, as
// RFC 6750 asks.
var errNoToken = fmt.Errorf("auth: no access token: %w", chat.ErrInvalidToken)

// Challenge returns the WWW-Authenticate value for a failed authentication:
// `Bearer` when no token was sent, `Bearer error="invalid_token"` (with a
// description for an expired one) when a token was refused, and "" for an
// error that is not about the token (the store failing).
func Challenge(err error) string {
	switch {
	case errors.Is(err, errNoToken):
		return "Bearer"
	case chat.ErrorCode(err) == chat.CodeTokenExpired:
		return `Bearer error="invalid_token", error_description="the access token expired"`
	case chat.ErrorCode(err) == chat.CodeInvalidToken:
		return `Bearer error="invalid_token"`
	}
	return ""
}

// BearerToken reads `Authorization: Bearer <token>`. Without the header the
// error has code invalid_token and Challenge answers it with a bare `Bearer`.
func BearerToken(h http.Header) (string, error) {
	v := h.Get("Authorization")
	if v == "" {
		return "", errNoToken
	}
	scheme, tok, _ := strings.Cut(v, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", fmt.Errorf("auth: authorization header: %w: want Bearer scheme", chat.ErrInvalidToken)
	}
	return tok, nil
}

// TokenFromRequest returns the access token of a WebSocket handshake from
// the first of these that is present, reading no other:
//  1. the `Authorization: Bearer` header;
//  2. a `Sec-WebSocket-Protocol` entry `access_token.<JWT>` offered beside
//     chat.v1 (fromSubprotocol is then true, and the server must select
//     chat.v1 without echoing the token entry); without chat.v1 it is an
//     error with code invalid_request;
//  3. the access_token query parameter.
//
// With none of them the error has code invalid_token.
func TokenFromRequest(r *http.Request) (token string, fromSubprotocol bool, err error) {
	if r.Header.Get("Authorization") != "" {
		tok, err := BearerToken(r.Header)
		return tok, false, err
	}
	var (
		found, hasChat bool
		tok            string
	)
	for _, line := range r.Header.Values("Sec-WebSocket-Protocol") {
		for entry := range strings.SplitSeq(line, ",") {
			entry = strings.TrimSpace(entry)
			switch {
			case entry == chat.Subprotocol:
				hasChat = true
			case strings.HasPrefix(entry, chat.SubprotocolTokenPrefix) && !found:
				found = true
				tok = entry[len(chat.SubprotocolTokenPrefix):]
			}
		}
	}
	if found {
		if !hasChat {
			return "", true, chat.Errorf(chat.CodeInvalidRequest, "the %s subprotocol entry must be offered beside %s", strings.TrimSuffix(chat.SubprotocolTokenPrefix, "."), chat.Subprotocol)
		}
		if tok == "" {
			return "", true, fmt.Errorf("auth: subprotocol: %w: empty token", chat.ErrInvalidToken)
		}
		return tok, true, nil
	}
	if vs, ok := r.URL.Query()["access_token"]; ok {
		if len(vs) == 0 || vs[0] == "" {
			return "", false, fmt.Errorf("auth: query: %w: empty access_token", chat.ErrInvalidToken)
		}
		return vs[0], false, nil
	}
	return "", false, errNoToken
}

// ClientIP returns the address of the client behind r: the connection's
// remote address, or, when that is in one of the trusted proxy prefixes,
// the right-most X-Forwarded-For entry that is not (all of them trusted:
// the left-most). Entries left of the first unparsable one are ignored.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !inPrefixes(peer, trusted) {
		return peer.String()
	}
	client := peer
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		entries := strings.Split(xff[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := parseAddr(strings.TrimSpace(entries[j]))
			if !ok {
				return client.String()
			}
			client = a
			if !inPrefixes(a, trusted) {
				return a.String()
			}
		}
	}
	return client.String()
}

// parseAddr parses an IP address with or without a port, unmapping IPv4 in
// IPv6 and dropping any zone.
func parseAddr(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
