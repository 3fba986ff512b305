package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/servertest"
	"github.com/chatsvc/chat/internal/store/storetest"
	"github.com/chatsvc/chat/openapi/apitest"
)

// testSecret is the CHAT_JWT_SECRET of the services the tests run.
const testSecret = "run-test-secret-run-test-secret-run-test"

// Timings of the tests.
const (
	startTimeout = 30 * time.Second
	// stopTimeout bounds how long run may take to return after its context
	// is cancelled (with no drain configured).
	stopTimeout = 5 * time.Second
	pollEvery   = 20 * time.Millisecond
)

// service is one call of run in this process.
type service struct {
	url    string // http://ADDR
	stderr *servertest.Buffer
	cancel context.CancelFunc
	done   chan error // receives run's result once
	client *http.Client
}

// startRun calls run with env (CHAT_ADDR 127.0.0.1:0, a SQLite file in a
// temp dir and a fixed JWT secret unless env sets them) and waits for the
// "listening on ADDR" line. The service is stopped at the end of the test.
func startRun(t *testing.T, env map[string]string) *service {
	t.Helper()
	e := map[string]string{
		"CHAT_ADDR":       "127.0.0.1:0",
		"CHAT_DB_URL":     "sqlite:" + filepath.Join(t.TempDir(), "chat.db"),
		"CHAT_JWT_SECRET": testSecret,
		"CHAT_LOG_LEVEL":  "debug",
	}
	for k, v := range env {
		e[k] = v
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &service{
		stderr: &servertest.Buffer{},
		cancel: cancel,
		done:   make(chan error, 1),
		client: &http.Client{Timeout: 5 * time.Second, Transport: apitest.Transport(t, &http.Transport{})},
	}
	go func() {
		err := run(ctx, []string{"api"}, environOf(e), pw, s.stderr)
		pw.Close()
		s.done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		cancel()
		t.Fatalf("run returned at start: %v\n%s", err, s.stderr)
	case <-time.After(startTimeout):
		cancel()
		t.Fatalf("no listening line in %v\n%s", startTimeout, s.stderr)
	}
	t.Cleanup(func() {
		s.cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Errorf("run did not return after the test\n%s", s.stderr)
		}
		s.client.CloseIdleConnections()
	})
	return s
}

// stop cancels run's context and returns its result, failing the test when
// it takes longer than within.
func (s *service) stop(t *testing.T, within time.Duration) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for Cleanup
		return err
	case <-time.After(within):
		t.Fatalf("run did not return within %v of the cancel\n%s", within, s.stderr)
		return nil
	}
}

// waitHealthy polls /healthz until it answers 200.
func (s *service) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := s.client.Get(s.url + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if strings.TrimSpace(string(body)) != `{"status":"ok"}` {
					t.Fatalf("healthz body %q", body)
				}
				return
			}
		}
		time.Sleep(pollEvery)
	}
	t.Fatalf("/healthz did not answer 200\n%s", s.stderr)
}

// call sends a request with an optional JSON body and bearer token and
// returns the status and body.
func (s *service) call(t *testing.T, method, path string, body any, token string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestRun(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			s := startRun(t, map[string]string{"CHAT_DB_URL": storetest.URL(t, dialect)})
			s.waitHealthy(t)

			const password = "round trip password"
			status, body := s.call(t, http.MethodPost, "/api/v1/auth/register", map[string]string{"username": "Alice", "password": password}, "")
			if status != http.StatusCreated {
				t.Fatalf("register: %d %s", status, body)
			}
			var reg struct {
				User struct{ ID, Username string } `json:"user"`
			}
			if err := json.Unmarshal(body, &reg); err != nil || reg.User.Username != "alice" || reg.User.ID == "" {
				t.Fatalf("register body %s (%v)", body, err)
			}

			status, body = s.call(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "alice", "password": password}, "")
			if status != http.StatusOK {
				t.Fatalf("login: %d %s", status, body)
			}
			var pair struct {
				AccessToken  string `json:"access_token"`
				TokenType    string `json:"token_type"`
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(body, &pair); err != nil || pair.AccessToken == "" || pair.TokenType != "Bearer" {
				t.Fatalf("login body %s (%v)", body, err)
			}

			status, body = s.call(t, http.MethodGet, "/api/v1/me", nil, pair.AccessToken)
			var me struct {
				User struct{ ID, Username string } `json:"user"`
			}
			if status != http.StatusOK || json.Unmarshal(body, &me) != nil || me.User != reg.User {
				t.Fatalf("me: %d %s, want user %+v", status, body, reg.User)
			}

			if status, body := s.call(t, http.MethodGet, "/readyz", nil, ""); status != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
				t.Fatalf("readyz: %d %s", status, body)
			}
			if status, body := s.call(t, http.MethodGet, "/metrics", nil, ""); status != http.StatusOK || !bytes.Contains(body, []byte("chat_http_requests_total")) {
				t.Fatalf("metrics on the main address: %d %.200s", status, body)
			}
			if status, body := s.call(t, http.MethodGet, "/", nil, ""); status != http.StatusOK || !bytes.Contains(bytes.ToLower(body), []byte("<html")) {
				t.Fatalf("web client: %d %.200s", status, body)
			}
			if status, _ := s.call(t, http.MethodGet, "/api/v1/nope", nil, ""); status != http.StatusNotFound {
				t.Fatalf("unknown path: %d, want 404", status)
			}

			if err := s.stop(t, stopTimeout); err != nil {
				t.Fatalf("run returned %v, want nil\n%s", err, s.stderr)
			}
			if _, err := s.client.Get(s.url + "/healthz"); err == nil {
				t.Fatal("the service still answers after run returned")
			}
			if logs := s.stderr.String(); strings.Contains(logs, password) || strings.Contains(logs, pair.AccessToken) || strings.Contains(logs, pair.RefreshToken) {
				t.Fatalf("the log holds a password or a token:\n%s", logs)
			}
		})
	}
}

func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		variable string
		value    string
	}{
		{"CHAT_WS_PING_INTERVAL", "abc"},
		{"CHAT_LOGIN_RATE", "fast"},
		{"CHAT_JWT_SECRET", "too-short"},
		{"CHAT_DB_URL", "mysql://localhost/chat"},
		{"CHAT_SHUTDOWN_DRAIN", "-1s"},
		{"CHAT_ADDR", "not an address"},
	}
	for _, tt := range tests {
		t.Run(tt.variable, func(t *testing.T) {
			env := map[string]string{
				"CHAT_ADDR":       "127.0.0.1:0",
				"CHAT_DB_URL":     "sqlite:" + filepath.Join(t.TempDir(), "chat.db"),
				"CHAT_JWT_SECRET": testSecret,
				tt.variable:       tt.value,
			}
			var stdout, stderr servertest.Buffer
			done := make(chan error, 1)
			go func() {
				done <- run(context.Background(), []string{"api"}, environOf(env), &stdout, &stderr)
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(stopTimeout):
				t.Fatalf("run did not return with %s=%q", tt.variable, tt.value)
			}
			if err == nil {
				t.Fatalf("run returned nil with %s=%q", tt.variable, tt.value)
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Fatalf("error %q does not name %s", err, tt.variable)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error %q holds the JWT secret", err)
			}
			if strings.Contains(stdout.String(), "listening on") {
				t.Fatalf("run listened with a bad configuration: %s", stdout.String())
			}
		})
	}
}

// TestRunShutdownDrain checks that /readyz answers 503 "shutdown" from the
// moment shutdown begins, for the whole drain, while the service still
// serves.
func TestRunShutdownDrain(t *testing.T) {
	const drain = time.Second
	s := startRun(t, map[string]string{"CHAT_SHUTDOWN_DRAIN": drain.String()})
	s.waitHealthy(t)
	if status, body := s.call(t, http.MethodGet, "/readyz", nil, ""); status != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d %s", status, body)
	}

	start := time.Now()
	s.cancel()
	var (
		first503 time.Duration
		last503  time.Duration
		returned time.Duration
	)
poll:
	for {
		select {
		case err := <-s.done:
			s.done <- err
			returned = time.Since(start)
			if err != nil {
				t.Fatalf("run returned %v, want nil\n%s", err, s.stderr)
			}
			break poll
		default:
		}
		if time.Since(start) > drain+stopTimeout {
			t.Fatalf("run did not return within %v\n%s", drain+stopTimeout, s.stderr)
		}
		resp, err := s.client.Get(s.url + "/readyz")
		if err != nil {
			// The listener is closed: the drain is over.
			time.Sleep(pollEvery)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		at := time.Since(start)
		switch {
		case resp.StatusCode == http.StatusServiceUnavailable:
			var v struct {
				Status string   `json:"status"`
				Failed []string `json:"failed"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.Status != "unavailable" || !slices.Contains(v.Failed, "shutdown") {
				t.Fatalf("readyz during shutdown: %s (%v)", body, err)
			}
			if first503 == 0 {
				first503 = at
			}
			last503 = at
			// The process still serves while it drains.
			if hr, err := s.client.Get(s.url + "/healthz"); err == nil {
				hr.Body.Close()
				if hr.StatusCode != http.StatusOK {
					t.Fatalf("healthz during the drain: %d", hr.StatusCode)
				}
			}
		case first503 != 0:
			t.Fatalf("readyz %d %s at %v after it had turned 503", resp.StatusCode, body, at)
		case at > 500*time.Millisecond:
			t.Fatalf("readyz still %d %s %v after the cancel", resp.StatusCode, body, at)
		}
		time.Sleep(pollEvery)
	}
	t.Logf("after the cancel: first 503 at %v, last at %v, run returned at %v", first503, last503, returned)
	if first503 == 0 {
		t.Fatal("readyz never answered 503 during the shutdown")
	}
	if last503 < drain/2 {
		t.Fatalf("last 503 at %v: the listener closed before the %v drain", last503, drain)
	}
	if returned < drain {
		t.Fatalf("run returned %v after the cancel, before the %v drain ended", returned, drain)
	}
}

// TestRunMetricsAddr checks that CHAT_METRICS_ADDR moves /metrics off the
// main address.
func TestRunMetricsAddr(t *testing.T) {
	s := startRun(t, map[string]string{"CHAT_METRICS_ADDR": "127.0.0.1:0"})
	s.waitHealthy(t)

	var metricsAddr string
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		var v struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &v) == nil && v.Msg == "metrics listening" {
			metricsAddr = v.Addr
		}
	}
	if metricsAddr == "" {
		t.Fatalf("no \"metrics listening\" log line with addr:\n%s", s.stderr)
	}
	if "http://"+metricsAddr == s.url {
		t.Fatalf("metrics on the main address %s", metricsAddr)
	}

	status, body := s.call(t, http.MethodGet, "/metrics", nil, "")
	var eb struct {
		Error struct{ Code string } `json:"error"`
	}
	if status != http.StatusNotFound || json.Unmarshal(body, &eb) != nil || eb.Error.Code != "not_found" {
		t.Fatalf("/metrics on the main address: %d %.200s, want 404 not_found", status, body)
	}

	resp, err := s.client.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics on %s: %d", metricsAddr, resp.StatusCode)
	}
	for _, want := range []string{
		`chat_http_requests_total{code="200",method="GET",route="/healthz"}`,
		`chat_http_requests_total{code="404",method="GET",route="unmatched"}`,
		"go_goroutines",
		"chat_ws_connections",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	if err := s.stop(t, stopTimeout); err != nil {
		t.Fatalf("run returned %v\n%s", err, s.stderr)
	}
	if _, err := s.client.Get("http://" + metricsAddr + "/metrics"); err == nil {
		t.Fatal("the metrics server still answers after run returned")
	}
}

// TestRunListenError checks that a taken address is an error, not a hang.
func TestRunListenError(t *testing.T) {
	s := startRun(t, nil)
	addr := strings.TrimPrefix(s.url, "http://")
	env := map[string]string{
		"CHAT_ADDR":       addr,
		"CHAT_DB_URL":     "sqlite:" + filepath.Join(t.TempDir(), "chat.db"),
		"CHAT_JWT_SECRET": testSecret,
	}
	var stdout, stderr servertest.Buffer
	err := run(context.Background(), []string{"api"}, environOf(env), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("run on a taken address returned %v, want an error naming %s", err, addr)
	}
}

// TestRunPprofAddr checks that CHAT_PPROF_ADDR serves the runtime profiles
// there and nowhere else.
func TestRunPprofAddr(t *testing.T) {
	s := startRun(t, map[string]string{"CHAT_PPROF_ADDR": "127.0.0.1:0"})
	s.waitHealthy(t)

	var pprofAddr string
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		var v struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &v) == nil && v.Msg == "pprof listening" {
			pprofAddr = v.Addr
		}
	}
	if pprofAddr == "" {
		t.Fatalf("no \"pprof listening\" log line with addr:\n%s", s.stderr)
	}
	if status, _ := s.call(t, http.MethodGet, "/debug/pprof/heap", nil, ""); status != http.StatusNotFound {
		t.Fatalf("/debug/pprof/heap on the main address: %d, want 404", status)
	}
	// The profiling listener is outside the API description: a plain client.
	plain := &http.Client{Timeout: 5 * time.Second}
	resp, err := plain.Get("http://" + pprofAddr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "heap profile") {
		t.Fatalf("/debug/pprof/heap on %s: %d %.200s", pprofAddr, resp.StatusCode, b)
	}
}
