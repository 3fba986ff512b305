package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/chatsvc/chat/internal/store"
)

// TestRequestIDFormat checks that a client's X-Request-ID is adopted only
// in a short safe form, and that anything else is replaced and never
// reaches the log.
func TestRequestIDFormat(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, envOptions{})
	long := strings.Repeat("a", 65)
	tests := []struct {
		name, id string
		kept     bool
	}{
		{"short", "abc-123", true},
		{"proxy style", "0f3c.A_b-9", true},
		{"64 characters", strings.Repeat("b", 64), true},
		{"65 characters", long, false},
		{"space", "abc 123", false},
		{"markup", "<script>", false},
		{"quote", `a"b`, false},
		{"non ascii", "idé", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(request{method: http.MethodGet, path: "/healthz", header: http.Header{"X-Request-Id": {tt.id}}})
			got := rec.Header().Get("X-Request-Id")
			if tt.kept != (got == tt.id) {
				t.Fatalf("X-Request-Id %q for %q, kept %v, want kept %v", got, tt.id, got == tt.id, tt.kept)
			}
			if got == "" || len(got) > 64 {
				t.Fatalf("X-Request-Id %q: want 1 to 64 characters", got)
			}
		})
	}
	if strings.Contains(e.logs.String(), long) {
		t.Fatalf("the log holds the refused request id")
	}
}

// TestMethodLabel checks that the method label of the HTTP metrics and the
// access log takes only a fixed set of values.
func TestMethodLabel(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, envOptions{})
	for _, m := range []string{"ANYTHING", "get", "BREW", http.MethodGet} {
		e.do(request{method: m, path: "/healthz"})
	}
	known := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
		"DELETE": true, "OPTIONS": true, "CONNECT": true, "TRACE": true, "other": true}
	mfs, err := e.m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var other float64
	for _, mf := range mfs {
		if mf.GetName() != "chat_http_requests_total" && mf.GetName() != "chat_http_request_duration_seconds" {
			continue
		}
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				if lp.GetName() != "method" {
					continue
				}
				if !known[lp.GetValue()] {
					t.Errorf("%s has method label %q", mf.GetName(), lp.GetValue())
				}
				if lp.GetValue() == "other" && mf.GetName() == "chat_http_requests_total" {
					other += metric.GetCounter().GetValue()
				}
			}
		}
	}
	if other != 3 {
		t.Errorf("requests counted as method other: %v, want 3", other)
	}
	if logs := e.logs.String(); strings.Contains(logs, "ANYTHING") || strings.Contains(logs, "BREW") {
		t.Errorf("the access log holds a raw method:\n%s", logs)
	}
}

// TestSecurityHeaders checks the headers of the web page and its files, and
// nosniff on API answers.
func TestSecurityHeaders(t *testing.T) {
	web := fstest.MapFS{
		"index.html": {Data: []byte("<!doctype html><title>chat</title>")},
		"app.js":     {Data: []byte("export {};")},
	}
	e := newEnv(t, store.DialectSQLite, envOptions{web: web})
	for _, path := range []string{"/", "/index.html", "/app.js"} {
		t.Run(path, func(t *testing.T) {
			rec := e.do(request{method: http.MethodGet, path: path})
			if rec.Code != http.StatusOK && rec.Code != http.StatusMovedPermanently {
				t.Fatalf("status %d", rec.Code)
			}
			h := rec.Header()
			csp := h.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "connect-src 'self'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if got := h.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy %q", got)
			}
		})
	}
	t.Run("websocket of the same host", func(t *testing.T) {
		rec := e.do(request{method: http.MethodGet, path: "/app.js"})
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "ws://example.com wss://example.com") {
			t.Errorf("CSP %q does not allow the WebSocket of the page's host", csp)
		}
	})
	t.Run("odd host is not written into the policy", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/app.js", nil)
		req.Host = "a;script-src *"
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "script-src *") || !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
	})
	t.Run("api", func(t *testing.T) {
		rec := e.get("/healthz", "")
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options %q", got)
		}
	})
}
