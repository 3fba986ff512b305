package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/openapi/apitest"
	"github.com/chatsvc/chat/web"
)

func TestHealth(t *testing.T) {
	var failed []string
	e := newEnv(t, "sqlite", envOptions{ready: func(context.Context) []string { return failed }})

	rec := e.get("/healthz", "")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", rec.Code, rec.Body)
	}

	tests := []struct {
		failed []string
		status int
		body   string
	}{
		{failed: nil, status: http.StatusOK, body: `{"status":"ok"}`},
		{failed: []string{"database"}, status: http.StatusServiceUnavailable, body: `{"status":"unavailable","failed":["database"]}`},
		{failed: []string{"shutdown", "broker"}, status: http.StatusServiceUnavailable, body: `{"status":"unavailable","failed":["shutdown","broker"]}`},
	}
	for _, tt := range tests {
		t.Run(cmpOr(strings.Join(tt.failed, ","), "ready"), func(t *testing.T) {
			failed = tt.failed
			rec := e.get("/readyz", "")
			if rec.Code != tt.status || strings.TrimSpace(rec.Body.String()) != tt.body {
				t.Fatalf("readyz: %d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			// healthz answers while the process serves, ready or not.
			if rec := e.get("/healthz", ""); rec.Code != http.StatusOK {
				t.Fatalf("healthz: %d", rec.Code)
			}
		})
	}
}

func TestReadyDatabase(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		if rec := e.get("/readyz", ""); rec.Code != http.StatusOK {
			t.Fatalf("readyz: %d %s", rec.Code, rec.Body)
		}
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		rec := e.get("/readyz", "")
		if rec.Code != http.StatusServiceUnavailable || strings.TrimSpace(rec.Body.String()) != `{"status":"unavailable","failed":["database"]}` {
			t.Fatalf("readyz with the database closed: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestEchoErrors(t *testing.T) {
	for _, withWeb := range []bool{false, true} {
		name := "api only"
		o := envOptions{}
		if withWeb {
			name = "with web client"
			o.web = web.FS()
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, "sqlite", o)
			tests := []struct {
				method, path string
				status       int
				code         string
			}{
				{http.MethodGet, "/api/v1/nope", http.StatusNotFound, chat.CodeNotFound},
				{http.MethodGet, "/api/v2/me", http.StatusNotFound, chat.CodeNotFound},
				{http.MethodGet, "/api/v1/auth/login", http.StatusMethodNotAllowed, chat.CodeMethodNotAllowed},
				{http.MethodPut, "/api/v1/auth/register", http.StatusMethodNotAllowed, chat.CodeMethodNotAllowed},
				{http.MethodPost, "/api/v1/me", http.StatusMethodNotAllowed, chat.CodeMethodNotAllowed},
				{http.MethodDelete, "/api/v1/rooms/general/messages", http.StatusMethodNotAllowed, chat.CodeMethodNotAllowed},
				{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, chat.CodeMethodNotAllowed},
				{http.MethodGet, "/metrics/nope", http.StatusNotFound, chat.CodeNotFound},
				{http.MethodGet, "/no-such-page.html", http.StatusNotFound, chat.CodeNotFound},
			}
			for _, tt := range tests {
				t.Run(tt.method+" "+tt.path, func(t *testing.T) {
					rec := e.do(request{method: tt.method, path: tt.path})
					wantError(t, rec, tt.status, tt.code)
					if tt.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
						t.Fatal("405 without an Allow header")
					}
				})
			}
			if withWeb {
				t.Run("index", func(t *testing.T) {
					rec := e.get("/", "")
					if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
						t.Fatalf("GET /: %d %q", rec.Code, rec.Header().Get("Content-Type"))
					}
				})
				t.Run("every file", func(t *testing.T) {
					err := fs.WalkDir(o.web, ".", func(p string, d fs.DirEntry, err error) error {
						if err != nil || d.IsDir() || path.Base(p) == "index.html" {
							return err
						}
						want, err := fs.ReadFile(o.web, p)
						if err != nil {
							return err
						}
						if rec := e.get("/"+p, ""); rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) {
							t.Errorf("GET /%s: %d, %d bytes, want 200 and the file's %d", p, rec.Code, rec.Body.Len(), len(want))
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				})
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	// A JSON object of exactly n bytes.
	object := func(n int) string {
		head := `{"username":"alice","password":"12345678","pad":"`
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	paths := []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"}
	for _, path := range paths {
		for _, chunked := range []bool{false, true} {
			name := path
			if chunked {
				name += " chunked"
			}
			t.Run(name, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(object(64<<10+1)))
				req.Header.Set("Content-Type", "application/json")
				if chunked {
					req.ContentLength = -1
				}
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, req)
				apitest.CheckRecorded(t, req, []byte(object(64<<10+1)), rec.Code, rec.Header(), rec.Body.Bytes())
				wantError(t, rec, http.StatusRequestEntityTooLarge, chat.CodeRequestTooLarge)
			})
		}
		t.Run(path+" at the limit", func(t *testing.T) {
			rec := e.do(request{method: http.MethodPost, path: path, body: object(64 << 10)})
			if rec.Code == http.StatusRequestEntityTooLarge || rec.Code >= 500 {
				t.Fatalf("a body of exactly 64 KiB: %d %s", rec.Code, rec.Body)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{})
	e.register("alice")
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        string
	}{
		{name: "malformed JSON", body: `{"username":"alice",`},
		{name: "not an object", body: `["alice","password"]`},
		{name: "string", body: `"alice"`},
		{name: "number", body: `42`},
		{name: "two objects", body: `{"username":"alice"} {"password":"x"}`},
		{name: "trailing garbage", body: `{"username":"alice","password":"12345678"}xyz`},
		{name: "empty body", body: ""},
		{name: "whitespace body", body: "  \n"},
		{name: "wrong field types", body: `{"username":1,"password":true}`},
		{name: "nested object", body: `{"username":{"a":1},"password":"12345678"}`},
		{name: "wrong content type", body: `{"username":"alice","password":"12345678"}`, contentType: "text/plain"},
		{name: "form content type", body: `username=alice&password=12345678`, contentType: "application/x-www-form-urlencoded"},
		{name: "no content type", body: `{"username":"alice","password":"12345678"}`, contentType: "-"},
		{name: "malformed content type", body: `{"username":"alice","password":"12345678"}`, contentType: "application/json; charset"},
		{name: "missing username", body: `{"password":"12345678"}`},
		{name: "missing password", body: `{"username":"alice"}`},
		{name: "null fields", body: `{"username":null,"password":null}`},
		{name: "overlong username", body: `{"username":"` + strings.Repeat("a", 33) + `","password":"12345678"}`},
		{name: "huge username", body: `{"username":"` + strings.Repeat("a", 60000) + `","password":"12345678"}`},
		{name: "overlong password", body: `{"username":"alice","password":"` + strings.Repeat("p", 129) + `"}`},
		{name: "invalid UTF-8 in a string", body: "{\"username\":\"al\xffice\",\"password\":\"12345678\"}"},
		{name: "invalid UTF-8 outside strings", body: "{\"username\":\"alice\",\"password\":\"12345678\"}\xff"},
		{name: "lone surrogate escape", body: `{"username":"al\udc00ce","password":"12345678"}`},
		{name: "NUL in username", body: `{"username":"al\u0000ice","password":"12345678"}`},
		{name: "deep nesting", body: strings.Repeat("[", 10000) + strings.Repeat("]", 10000)},
	}
	for _, path := range []string{"/api/v1/auth/register", "/api/v1/auth/login"} {
		for _, tt := range tests {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				rec := e.do(request{method: http.MethodPost, path: path, body: tt.body, contentType: cmpOr(tt.contentType, "application/json")})
				wantError(t, rec, http.StatusBadRequest, chat.CodeInvalidRequest)
			})
		}
	}
	refreshTests := []struct{ name, body, contentType string }{
		{name: "malformed JSON", body: `{"refresh_token":`},
		{name: "wrong type", body: `{"refresh_token":123}`},
		{name: "missing", body: `{}`},
		{name: "empty", body: `{"refresh_token":""}`},
		{name: "wrong content type", body: `{"refresh_token":"abc"}`, contentType: "text/plain"},
		{name: "invalid UTF-8", body: "{\"refresh_token\":\"\xc3\x28\"}"},
	}
	for _, path := range []string{"/api/v1/auth/refresh", "/api/v1/auth/logout"} {
		for _, tt := range refreshTests {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				rec := e.do(request{method: http.MethodPost, path: path, body: tt.body, contentType: cmpOr(tt.contentType, "application/json")})
				wantError(t, rec, http.StatusBadRequest, chat.CodeInvalidRequest)
			})
		}
	}
	t.Run("charset parameter is accepted", func(t *testing.T) {
		rec := e.do(request{method: http.MethodPost, path: "/api/v1/auth/login",
			body: `{"username":"alice","password":"` + testPassword + `"}`, contentType: "application/json; charset=utf-8"})
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
	t.Run("unknown fields are ignored", func(t *testing.T) {
		rec := e.do(request{method: http.MethodPost, path: "/api/v1/auth/login",
			body: `{"username":"alice","password":"` + testPassword + `","remember":true,"x":{"y":[1,2]}}`})
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
	t.Run("password bytes are not normalised", func(t *testing.T) {
		// "é" composed and decomposed are different passwords.
		composed, decomposed := "pass\u00e9word", "passe\u0301word"
		rec := e.post("/api/v1/auth/register", map[string]string{"username": "unicode", "password": composed})
		if rec.Code != http.StatusCreated {
			t.Fatalf("register: %d %s", rec.Code, rec.Body)
		}
		wantError(t, e.post("/api/v1/auth/login", map[string]string{"username": "unicode", "password": decomposed}),
			http.StatusUnauthorized, chat.CodeInvalidCredentials)
		if rec := e.post("/api/v1/auth/login", map[string]string{"username": "unicode", "password": composed}); rec.Code != http.StatusOK {
			t.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestInternalError checks that a failing store gives 500 internal with a
// generic message, logged once with the cause.
func TestInternalError(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		e.register("alice")
		tok := e.login("alice").AccessToken
		// The session is now cached for a moment: close the store right away
		// so the handler, not the authentication, meets the failure.
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/api/v1/rooms", "/api/v1/rooms/general/messages"} {
			t.Run(path, func(t *testing.T) {
				rec := e.get(path, tok)
				if rec.Code == http.StatusUnauthorized {
					t.Skip("session cache expired before the request")
				}
				msg := wantError(t, rec, http.StatusInternalServerError, chat.CodeInternal)
				if msg != "internal error" {
					t.Fatalf("message %q, want the generic one", msg)
				}
			})
		}
		rec := e.post("/api/v1/auth/login", map[string]string{"username": "alice", "password": testPassword})
		msg := wantError(t, rec, http.StatusInternalServerError, chat.CodeInternal)
		if msg != "internal error" {
			t.Fatalf("login message %q, want the generic one", msg)
		}
		if !strings.Contains(e.logs.String(), `"msg":"request failed"`) {
			t.Fatalf("the cause was not logged:\n%s", e.logs)
		}
	})
}

// TestAccessLog checks that the access log has one line per request with
// its request id, and never a password, a token or a query string.
func TestAccessLog(t *testing.T) {
	wsHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid_token","message":"no"}}`))
	})
	e := newEnv(t, "sqlite", envOptions{ws: wsHandler})
	const password = "s3cret-Passw0rd-in-the-body"

	var secrets []string
	var ids []string
	track := func(rec *httptest.ResponseRecorder) *httptest.ResponseRecorder {
		id := rec.Header().Get("X-Request-Id")
		if id == "" {
			t.Fatalf("response without X-Request-Id")
		}
		ids = append(ids, id)
		return rec
	}
	track(e.post("/api/v1/auth/register", map[string]string{"username": "alice", "password": password}))
	rec := track(e.post("/api/v1/auth/login", map[string]string{"username": "alice", "password": password}))
	var p chat.TokenPair
	decode(t, rec, &p)
	track(e.post("/api/v1/auth/login", map[string]string{"username": "alice", "password": password + "-wrong"}))
	rec = track(e.post("/api/v1/auth/refresh", map[string]string{"refresh_token": p.RefreshToken}))
	var p2 chat.TokenPair
	decode(t, rec, &p2)
	secrets = append(secrets, password, p.AccessToken, p.RefreshToken, p2.AccessToken, p2.RefreshToken)

	track(e.get("/api/v1/me", p2.AccessToken))
	track(e.get("/api/v1/rooms?after=secret-after-value&limit=7", p2.AccessToken))
	track(e.get("/api/v1/rooms/general/messages?before=987654&limit=3", p2.AccessToken))
	track(e.get("/ws?access_token="+p2.AccessToken, ""))
	track(e.get("/ws?access_token=garbage-query-token", ""))
	track(e.get("/api/v1/me?access_token="+p2.AccessToken, ""))
	track(e.get("/nope?access_token="+p2.AccessToken, ""))
	track(e.do(request{method: http.MethodGet, path: "/api/v1/me", header: http.Header{"Authorization": {"Bearer " + p2.RefreshToken}}}))
	track(e.post("/api/v1/auth/logout", map[string]string{"refresh_token": p2.RefreshToken}))
	track(e.post("/api/v1/auth/refresh", map[string]string{"refresh_token": p.RefreshToken}))
	secrets = append(secrets, "garbage-query-token", "secret-after-value", "987654", "access_token", "before=", "after=", "limit=", "?")

	logs := e.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log contains %q:\n%s", s, logs)
		}
	}

	type line struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
		Method    string `json:"method"`
		Route     string `json:"route"`
		Path      string `json:"path"`
		Status    int    `json:"status"`
	}
	var access []line
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if v.Msg == "http request" {
			access = append(access, v)
		}
	}
	if len(access) != len(ids) {
		t.Fatalf("%d access log lines for %d requests:\n%s", len(access), len(ids), logs)
	}
	for i, l := range access {
		if l.RequestID != ids[i] {
			t.Errorf("line %d: request_id %q, want %q", i, l.RequestID, ids[i])
		}
		if l.Method == "" || l.Route == "" || l.Status == 0 {
			t.Errorf("line %d lacks method, route or status: %+v", i, l)
		}
	}
	wantRoutes := map[string]bool{"/ws": false, "/api/v1/rooms/:room/messages": false, "unmatched": false}
	for _, l := range access {
		if _, ok := wantRoutes[l.Route]; ok {
			wantRoutes[l.Route] = true
		}
		// An unknown path must not become a route label of its own.
		if l.Path == "/nope" && l.Route != "unmatched" {
			t.Errorf("route of an unknown path: %q, want unmatched", l.Route)
		}
	}
	for r, seen := range wantRoutes {
		if !seen {
			t.Errorf("no access log line for route %s", r)
		}
	}

	t.Run("incoming request id is kept", func(t *testing.T) {
		rec := e.do(request{method: http.MethodGet, path: "/healthz", header: http.Header{"X-Request-Id": {"abc-123"}}})
		if got := rec.Header().Get("X-Request-Id"); got != "abc-123" {
			t.Fatalf("X-Request-Id %q, want abc-123", got)
		}
	})
}

// TestPanicRecovered checks that a panic below the router becomes a JSON
// 500 without a stack trace.
func TestPanicRecovered(t *testing.T) {
	e := newEnv(t, "sqlite", envOptions{ws: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom at /secret/path.go:42")
	})})
	rec := e.get("/ws", "some-token")
	msg := wantError(t, rec, http.StatusInternalServerError, chat.CodeInternal)
	if strings.Contains(msg, "boom") {
		t.Fatalf("message %q leaks the panic", msg)
	}
	_, _ = io.Copy(io.Discard, rec.Body)
}
