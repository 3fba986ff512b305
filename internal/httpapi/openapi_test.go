package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/openapi"
	"github.com/chatsvc/chat/openapi/apitest"
	"github.com/labstack/echo/v4"
)

// notServedYet lists the operations of openapi/openapi.json, as "METHOD
// /path", that the server does not serve yet. It only shrinks: when one of
// them is routed, TestRoutesDocumented fails until it is taken off.
var notServedYet = []string{}

// webFileOperation is the document's operation for the files of the web
// client other than its index.
const webFileOperation = "GET /{file}"

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	rec := e.get("/api/v1/openapi.json", "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !bytes.Equal(rec.Body.Bytes(), openapi.Document) {
		t.Fatal("the body is not the embedded document")
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=") || strings.Contains(cc, "no-store") {
		t.Fatalf("Cache-Control %q, want a cacheable answer", cc)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	tests := []struct {
		ifNoneMatch string
		want        int
	}{
		{etag, http.StatusNotModified},
		{"W/" + etag, http.StatusNotModified},
		{`"other", ` + etag, http.StatusNotModified},
		{"*", http.StatusNotModified},
		{`"other"`, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.ifNoneMatch, func(t *testing.T) {
			rec := e.do(request{method: http.MethodGet, path: "/api/v1/openapi.json", header: http.Header{"If-None-Match": {tt.ifNoneMatch}}})
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == http.StatusNotModified && rec.Body.Len() != 0 {
				t.Fatalf("304 with a body of %d bytes", rec.Body.Len())
			}
			if rec.Header().Get("ETag") != etag {
				t.Fatalf("ETag %q, want %q", rec.Header().Get("ETag"), etag)
			}
		})
	}
}

// TestRoutesDocumented checks that every route the server registers is an
// operation of openapi/openapi.json and every operation is routed, apart
// from notServedYet.
func TestRoutesDocumented(t *testing.T) {
	doc, err := apitest.LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	e := newEnv(t, "sqlite", envOptions{
		ws:  http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		web: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}, "app.js": {Data: []byte("")}},
	})
	var routed []string
	for _, r := range e.h.(*echo.Echo).Routes() {
		routed = append(routed, r.Method+" "+r.Path)
	}
	served := map[string]bool{}
	for _, r := range routed {
		if r == "GET /index.html" || r == "GET /app.js" {
			served[webFileOperation] = true
			continue
		}
		i := slices.IndexFunc(documented, func(d string) bool { return routeMatches(r, d) })
		if i < 0 {
			t.Errorf("route %s is not in openapi/openapi.json", r)
			continue
		}
		for _, d := range documented {
			if routeMatches(r, d) {
				served[d] = true
			}
		}
	}
	for _, d := range documented {
		pending := slices.Contains(notServedYet, d)
		switch {
		case !served[d] && !pending:
			t.Errorf("operation %s of openapi/openapi.json is not routed (list it in notServedYet if it is still to come)", d)
		case served[d] && pending:
			t.Errorf("operation %s is routed now: take it off notServedYet", d)
		}
	}
	for _, p := range notServedYet {
		if !slices.Contains(documented, p) {
			t.Errorf("notServedYet lists %s, which openapi/openapi.json does not have", p)
		}
	}
}

// routeMatches reports whether an Echo route ("GET /rooms/:room") serves a
// documented operation ("GET /rooms/{room}"): an Echo parameter matches any
// segment, a documented parameter only an Echo parameter.
func routeMatches(route, op string) bool {
	rm, rp, _ := strings.Cut(route, " ")
	om, op, _ := strings.Cut(op, " ")
	rs, os := strings.Split(rp, "/"), strings.Split(op, "/")
	if rm != om || len(rs) != len(os) {
		return false
	}
	for i := range rs {
		switch {
		case strings.HasPrefix(rs[i], ":"):
		case strings.HasPrefix(os[i], "{"):
			return false
		case rs[i] != os[i]:
			return false
		}
	}
	return true
}

// TestPendingFieldsNotServed fails while a field apitest.PendingFields
// excuses is already served, so the list shrinks as the fields land.
func TestPendingFieldsNotServed(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	alice := e.register("alice")
	e.appendN(t, "general", chat.User{ID: alice.ID, Username: alice.Username}, 1)
	tok := e.login("alice").AccessToken
	objects := map[string]func() map[string]any{
		"Room": func() map[string]any {
			var page struct{ Rooms []map[string]any }
			mustDecode(t, e.get("/api/v1/rooms?limit=1", tok).Body.Bytes(), &page)
			return page.Rooms[0]
		},
		"Message": func() map[string]any {
			var page struct{ Messages []map[string]any }
			mustDecode(t, e.get("/api/v1/rooms/general/messages?limit=1", tok).Body.Bytes(), &page)
			return page.Messages[0]
		},
	}
	for schema, fields := range apitest.PendingFields {
		get := objects[schema]
		if get == nil {
			t.Errorf("no way to read a %s: add one to this test", schema)
			continue
		}
		obj := get()
		for _, f := range fields {
			if _, ok := obj[f]; ok {
				t.Errorf("%s.%s is served now: take it off apitest.PendingFields", schema, f)
			}
		}
	}
}

func mustDecode(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %.200s: %v", b, err)
	}
}
