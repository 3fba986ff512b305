package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"

	"github.com/chatsvc/chat/internal/chat"
)

// parsers returns the parsers Load adds to env's: strict booleans, the
// trusted proxy list and throttle rates.
func parsers() map[reflect.Type]env.ParserFunc {
	return map[reflect.Type]env.ParserFunc{
		reflect.TypeFor[bool]():           func(s string) (any, error) { return parseBool(s) },
		reflect.TypeFor[[]netip.Prefix](): func(s string) (any, error) { return parsePrefixes(s) },
		reflect.TypeFor[chat.Rate]():      func(s string) (any, error) { return chat.ParseRate(s) },
	}
}

// badEntryError names the entry of a comma-separated list that is wrong.
type badEntryError struct {
	entry  string
	reason string
}

func (e badEntryError) Error() string {
	if e.entry == "" {
		return "empty entry"
	}
	return fmt.Sprintf("entry %q %s", e.entry, e.reason)
}

// parseBool reads a boolean as Go's strconv.ParseBool does: 1, t, T,
// TRUE, true, True, 0, f, F, FALSE, false, False.
func parseBool(s string) (bool, error) {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("bool %q: want true, false, 1 or 0", s)
	}
	return b, nil
}

// parsePrefixes parses a comma-separated list of CIDRs; a bare address is
// a prefix of its full length (/32 or /128). Prefixes are masked, so
// 10.1.2.3/8 is 10.0.0.0/8.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, badEntryError{}
		}
		if strings.Contains(e, "/") {
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, badEntryError{e, "is not a CIDR"}
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil || a.Zone() != "" {
			return nil, badEntryError{e, "is not an IP address or CIDR"}
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// parseOrigins parses a comma-separated list of browser origins
// scheme://host[:port]. Scheme and host are lower-cased and a default port
// (80 for http, 443 for https) is dropped, so each entry compares equal to
// the Origin header a browser sends.
func parseOrigins(s string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		o, err := parseOrigin(e)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func parseOrigin(e string) (string, error) {
	if e == "" {
		return "", badEntryError{}
	}
	u, err := url.Parse(e)
	if err != nil {
		return "", badEntryError{e, "is not a URL"}
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", badEntryError{e, "needs the scheme http or https"}
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", badEntryError{e, "has no host"}
	case u.User != nil:
		return "", badEntryError{e, "has user information"}
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.HasSuffix(e, "#"):
		return "", badEntryError{e, "has a path, query or fragment"}
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return "", badEntryError{e, "has an empty port"}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", badEntryError{e, "has a port outside 1-65535"}
		}
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			port = ""
		} else {
			port = strconv.Itoa(n)
		}
	}
	if port == "" {
		return scheme + "://" + host, nil
	}
	return scheme + "://" + host + ":" + port, nil
}

// parseURL parses an absolute URL.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" {
		return nil, errors.New("no scheme")
	}
	return u, nil
}
