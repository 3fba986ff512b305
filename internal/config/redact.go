package config

import (
	"net/url"
	"strings"
)

// redacted replaces every secret in a URL.
const redacted = "xxxxx"

// secretParams are query parameters whose values are secrets, compared
// without case: a PostgreSQL password given as ?password=…, and the like.
var secretParams = []string{"password", "sslpassword", "secret", "token"}

// redactURL returns s with every secret form it may carry replaced by
// xxxxx: the password of a postgres:// URL's user information, the whole
// user information of any other URL (in a redis:// URL a lone user name
// may be a password too), and the value of every query parameter named in secretParams. It
// also works on a string that does not parse as a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return redactRaw(s)
	}
	if u.User != nil {
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			u.User = url.User(redacted)
		} else if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = redactQuery(u.RawQuery)
		} else {
			for k := range q {
				if secretParam(k) {
					q[k] = []string{redacted}
				}
			}
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// redactRaw redacts a string that is not a URL: everything between its
// scheme and the last @, and the secret parameters of what follows a ?.
func redactRaw(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		start := 0
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			start = i + len("://")
		}
		s = s[:start] + redacted + s[at:]
	}
	if base, query, ok := strings.Cut(s, "?"); ok {
		s = base + "?" + redactQuery(query)
	}
	return s
}

// redactQuery replaces the value of every secret parameter of a raw query
// string, also one that does not parse.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if secretParam(k) {
			parts[i] = k + "=" + redacted
		}
	}
	return strings.Join(parts, "&")
}

// secretParam reports whether a query parameter holds a secret.
func secretParam(k string) bool {
	k = strings.ToLower(k)
	for _, p := range secretParams {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}
