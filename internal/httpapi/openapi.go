package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/chatsvc/chat/openapi"
	"github.com/labstack/echo/v4"
)

// openAPIMaxAge is how long clients and caches may keep the OpenAPI
// document without asking again; the ETag makes asking again cheap.
const openAPIMaxAge = "public, max-age=3600"

// handleOpenAPI serves the OpenAPI document of the REST API. It needs no
// token and may be cached; a request whose If-None-Match holds the current
// ETag gets 304.
func (s *server) handleOpenAPI() echo.HandlerFunc {
	sum := sha256.Sum256(openapi.Document)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", openAPIMaxAge)
		h.Set("ETag", etag)
		if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
			return c.NoContent(http.StatusNotModified)
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openapi.Document)
	}
}

// etagMatches reports whether an If-None-Match header value names etag
// (weak comparison, as RFC 9110 has it for If-None-Match).
func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == etag {
			return true
		}
	}
	return false
}
