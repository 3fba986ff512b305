package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/servertest"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/openapi/apitest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// mtPassword is the password of the users of the metrics tests.
const mtPassword = "metrics test password 1"

// mtLoginRate is the per-username login throttle of mtServer.
var mtLoginRate = chat.Rate{N: 3, Per: time.Minute}

// mtServer is the real Echo handler on a real SQLite store, with its own
// registry and a captured debug log.
type mtServer struct {
	t    testing.TB
	h    http.Handler
	m    *metrics.Metrics
	logs *servertest.Buffer
	// secrets are the tokens handed out, which no log line may hold.
	secrets []string
}

func mtNewServer(t testing.TB) *mtServer {
	t.Helper()
	// /ws stands in for the hub: it refuses every token.
	ws := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("WWW-Authenticate", "Bearer")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid_token","message":"no"}}`))
	})
	e := newEnv(t, store.DialectSQLite, envOptions{
		loginRate: mtLoginRate,
		ws:        ws,
		ready:     func(context.Context) []string { return nil },
		web:       fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>chat</title>")}},
	})
	return &mtServer{t: t, h: e.h, m: e.m, logs: e.logs}
}

// do sends one request from a fixed client address.
func (s *mtServer) do(method, path, token string, body any) *httptest.ResponseRecorder {
	s.t.Helper()
	var req *http.Request
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			s.t.Fatal(err)
		}
		req = httptest.NewRequest(method, path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.RemoteAddr = "192.0.2.10:40000"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	apitest.CheckRecorded(s.t, req, b, rec.Code, rec.Header(), rec.Body.Bytes())
	return rec
}

// want fails unless rec has status code.
func (s *mtServer) want(rec *httptest.ResponseRecorder, code int, what string) {
	s.t.Helper()
	if rec.Code != code {
		s.t.Fatalf("%s: status %d, want %d: %s", what, rec.Code, code, rec.Body)
	}
}

// login posts a login and remembers the tokens it returns.
func (s *mtServer) login(name, password string) *httptest.ResponseRecorder {
	s.t.Helper()
	rec := s.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": name, "password": password})
	s.remember(rec)
	return rec
}

// remember records the tokens of a TokenPair answer.
func (s *mtServer) remember(rec *httptest.ResponseRecorder) {
	var pair chat.TokenPair
	if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &pair) == nil {
		s.secrets = append(s.secrets, pair.AccessToken, pair.RefreshToken)
	}
}

// requests returns chat_http_requests_total for one label set.
func (s *mtServer) requests(method, route, code string) float64 {
	return testutil.ToFloat64(s.m.HTTPRequests.WithLabelValues(method, route, code))
}

// routeLabels returns every route label value of chat_http_requests_total
// and the total of its series and of chat_http_request_duration_seconds.
func (s *mtServer) routeLabels() (routes []string, requests float64, observed uint64) {
	s.t.Helper()
	mfs, err := s.m.Registry().Gather()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			switch mf.GetName() {
			case "chat_http_requests_total":
				requests += metric.GetCounter().GetValue()
				for _, lp := range metric.GetLabel() {
					if lp.GetName() == "route" && !slices.Contains(routes, lp.GetValue()) {
						routes = append(routes, lp.GetValue())
					}
				}
			case "chat_http_request_duration_seconds":
				observed += metric.GetHistogram().GetSampleCount()
			}
		}
	}
	slices.Sort(routes)
	return routes, requests, observed
}

func TestHTTPMetrics(t *testing.T) {
	s := mtNewServer(t)
	m := s.m
	logins := func(result string) float64 { return testutil.ToFloat64(m.AuthLogins.WithLabelValues(result)) }
	refreshes := func(result string) float64 { return testutil.ToFloat64(m.AuthRefreshes.WithLabelValues(result)) }

	s.want(s.do(http.MethodPost, "/api/v1/auth/register", "", map[string]string{"username": "alice", "password": mtPassword}), http.StatusCreated, "register")
	if got := s.requests("POST", "/api/v1/auth/register", "201"); got != 1 {
		t.Errorf("register: %v requests counted", got)
	}

	t.Run("logins by result", func(t *testing.T) {
		rec := s.login("alice", mtPassword)
		s.want(rec, http.StatusOK, "login")
		var pair chat.TokenPair
		if err := json.Unmarshal(rec.Body.Bytes(), &pair); err != nil {
			t.Fatal(err)
		}
		s.want(s.login("alice", "wrong password!"), http.StatusUnauthorized, "bad password")
		s.want(s.login("nobody", mtPassword), http.StatusUnauthorized, "unknown user")
		if got := logins("success"); got != 1 {
			t.Errorf(`chat_auth_logins_total{result="success"} = %v, want 1`, got)
		}
		if got := logins("failure"); got != 2 {
			t.Errorf(`chat_auth_logins_total{result="failure"} = %v, want 2`, got)
		}
		if got := s.requests("POST", "/api/v1/auth/login", "200"); got != 1 {
			t.Errorf("login 200: %v requests counted", got)
		}
		if got := s.requests("POST", "/api/v1/auth/login", "401"); got != 2 {
			t.Errorf("login 401: %v requests counted", got)
		}

		// Refresh: a good one, the same token again (spent: the session
		// is revoked) and garbage.
		refresh := func(tok string) *httptest.ResponseRecorder {
			rec := s.do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok})
			s.remember(rec)
			return rec
		}
		s.want(refresh(pair.RefreshToken), http.StatusOK, "refresh")
		s.want(refresh(pair.RefreshToken), http.StatusUnauthorized, "spent refresh")
		s.want(refresh("not-a-refresh-token"), http.StatusUnauthorized, "unknown refresh")
		for result, want := range map[string]float64{"success": 1, "reused": 1, "invalid": 1, "error": 0} {
			if got := refreshes(result); got != want {
				t.Errorf(`chat_auth_refreshes_total{result=%q} = %v, want %v`, result, got, want)
			}
		}
	})

	t.Run("routes are templates", func(t *testing.T) {
		rec := s.login("alice", mtPassword)
		s.want(rec, http.StatusOK, "login")
		var pair chat.TokenPair
		if err := json.Unmarshal(rec.Body.Bytes(), &pair); err != nil {
			t.Fatal(err)
		}
		s.want(s.do(http.MethodGet, "/api/v1/rooms/general/messages", pair.AccessToken, nil), http.StatusOK, "history")
		s.want(s.do(http.MethodGet, "/api/v1/rooms/secret-room-name/messages", pair.AccessToken, nil), http.StatusNotFound, "history of a missing room")
		s.want(s.do(http.MethodGet, "/api/v1/rooms/general/messages?limit=nope", pair.AccessToken, nil), http.StatusBadRequest, "bad limit")
		const tmpl = "/api/v1/rooms/:room/messages"
		for code, want := range map[string]float64{"200": 1, "404": 1, "400": 1} {
			if got := s.requests("GET", tmpl, code); got != want {
				t.Errorf("GET %s %s: %v, want %v", tmpl, code, got, want)
			}
		}
		before := s.requests("GET", "unmatched", "404")
		for _, p := range []string{"/no/such/path", "/api/v1/nothing", "/api/v1/rooms/general/other", "/api/v2/rooms", "/favicon-raw-path.ico"} {
			s.want(s.do(http.MethodGet, p, pair.AccessToken, nil), http.StatusNotFound, p)
		}
		if got := s.requests("GET", "unmatched", "404") - before; got != 5 {
			t.Errorf(`route="unmatched": %v of the 5 unmatched requests`, got)
		}
		s.want(s.do(http.MethodPost, "/no/such/form", "", nil), http.StatusNotFound, "POST to nowhere")
		if got := s.requests("POST", "unmatched", "404"); got != 1 {
			t.Errorf(`POST route="unmatched": %v, want 1`, got)
		}
		s.want(s.do(http.MethodPut, "/api/v1/rooms/general/messages", pair.AccessToken, nil), http.StatusMethodNotAllowed, "PUT history")
		if got := s.requests("PUT", tmpl, "405"); got != 1 {
			t.Errorf("PUT %s 405: %v, want 1", tmpl, got)
		}
		s.want(s.do(http.MethodGet, "/", "", nil), http.StatusOK, "web page")
		s.want(s.do(http.MethodGet, "/ws?access_token=SECRETTOKEN", "", nil), http.StatusUnauthorized, "ws")
		if got := s.requests("GET", "/ws", "401"); got != 1 {
			t.Errorf("GET /ws 401: %v", got)
		}

		allowed := []string{
			"/", "/*", "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/auth/refresh", "/api/v1/auth/register",
			"/api/v1/me", "/api/v1/rooms", tmpl, "/healthz", "/metrics", "/readyz", "/ws", "unmatched",
		}
		routes, requests, observed := s.routeLabels()
		for _, r := range routes {
			if !slices.Contains(allowed, r) {
				t.Errorf("route label %q is not a route template", r)
			}
		}
		if uint64(requests) != observed {
			t.Errorf("%v requests counted, %d durations observed", requests, observed)
		}
	})

	t.Run("login throttle", func(t *testing.T) {
		s.want(s.do(http.MethodPost, "/api/v1/auth/register", "", map[string]string{"username": "bob", "password": mtPassword}), http.StatusCreated, "register")
		limited := testutil.ToFloat64(m.RateLimitedLogin)
		throttled := logins("throttled")
		for range mtLoginRate.N {
			s.want(s.login("bob", "wrong password!"), http.StatusUnauthorized, "bad password")
		}
		if got := testutil.ToFloat64(m.RateLimitedLogin); got != limited {
			t.Fatalf(`chat_rate_limited_total{scope="login"} moved to %v before the throttle`, got)
		}
		rec := s.login("bob", mtPassword)
		s.want(rec, http.StatusTooManyRequests, "login past the throttle")
		if rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		if got := testutil.ToFloat64(m.RateLimitedLogin); got != limited+1 {
			t.Errorf(`chat_rate_limited_total{scope="login"} = %v, want %v`, got, limited+1)
		}
		if got := logins("throttled"); got != throttled+1 {
			t.Errorf(`chat_auth_logins_total{result="throttled"} = %v, want %v`, got, throttled+1)
		}
		if got := s.requests("POST", "/api/v1/auth/login", "429"); got != 1 {
			t.Errorf("login 429: %v requests counted", got)
		}
	})

	t.Run("lint", func(t *testing.T) {
		problems, err := testutil.GatherAndLint(m.Registry())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})

	t.Run("logs", func(t *testing.T) {
		all := s.logs.String()
		if !strings.Contains(all, `"msg":"http request"`) || !strings.Contains(all, `"request_id"`) {
			t.Fatalf("no access log lines with a request_id:\n%s", all)
		}
		if len(s.secrets) < 6 {
			t.Fatalf("only %d tokens recorded", len(s.secrets))
		}
		for _, secret := range append([]string{mtPassword, "wrong password!", "SECRETTOKEN", "access_token", "refresh_token", "not-a-refresh-token"}, s.secrets...) {
			if strings.Contains(all, secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
	})
}
