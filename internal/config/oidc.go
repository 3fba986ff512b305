package config

import (
	"net"
	"strings"
)

// validateOIDC checks the CHAT_OIDC_ variables: an issuer URL a provider
// can be discovered at, and an audience whenever an issuer is set.
func (l *loader) validateOIDC(c *Config) {
	if c.OIDCIssuer == "" {
		return
	}
	if detail := checkIssuer(c.OIDCIssuer); detail != "" {
		l.invalid("CHAT_OIDC_ISSUER", detail)
	}
	if c.OIDCAudience == "" {
		l.add("CHAT_OIDC_AUDIENCE", "is empty while CHAT_OIDC_ISSUER is set: tokens are accepted only for a named audience")
	}
	l.check("CHAT_OIDC_USERNAME_CLAIM", strings.TrimSpace(c.OIDCUsernameClaim) == c.OIDCUsernameClaim && c.OIDCUsernameClaim != "")
}

// checkIssuer returns what is wrong with an issuer URL, or "".
func checkIssuer(s string) string {
	u, err := parseURL(s)
	switch {
	case err != nil:
		return "not a URL"
	case u.Host == "":
		return "no host"
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "a query, fragment or user name is not allowed"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			return ""
		}
		return "http:// is allowed only on a loopback host; use https://"
	}
	return "the scheme must be https"
}
