package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// maxRequestIDLen bounds a client's X-Request-ID the service adopts.
const maxRequestIDLen = 64

// requestIDs gives every request an id, returned as X-Request-ID and
// logged with it. A client's X-Request-ID is adopted only when it is 1 to
// maxRequestIDLen characters of A-Z a-z 0-9 . _ - (a proxy's id, say);
// anything else is replaced by a fresh one, so no client decides what lands
// in the logs.
func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// validRequestID reports whether id is a short id of safe characters.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// methodLabel maps a request method to the fixed set the HTTP metrics and
// the access log use: the methods of RFC 9110 and PATCH, anything else
// "other", so no client creates series of its own.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// contentSecurityPolicy is the CSP of the web page: its own scripts, styles
// and images (and the empty data: favicon), fetches and WebSockets to its
// own origin only, never framed, no <base> and no form posting elsewhere.
// connect-src also names ws:/wss: of the request's host (see webHeaders),
// for browsers in which 'self' does not cover WebSocket URLs.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// webHeaders sets the security headers of the web page and its files.
func webHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		csp := contentSecurityPolicy + "; connect-src 'self'"
		if host := c.Request().Host; validHost(host) {
			csp += " ws://" + host + " wss://" + host
		}
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}

// validHost reports whether h is a plain host[:port] that can be written
// into a CSP source: letters, digits, . - : and the brackets of an IPv6
// literal, nothing that could end or extend the directive.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	return strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == ""
}

// noSniff tells browsers to trust the Content-Type of every response.
func noSniff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("X-Content-Type-Options", "nosniff")
		return next(c)
	}
}
