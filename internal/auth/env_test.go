package auth

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

const (
	testPassword = "correct horse battery"
	testIP       = "198.51.100.7"
	testRefresh  = 24 * time.Hour
)

// syncClock is a settable clock safe for concurrent use.
type syncClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *syncClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a Service on a real, fresh store.
type env struct {
	svc     *Service
	db      *store.DB
	tokens  *Tokens
	clk     *syncClock
	metrics *metrics.Metrics

	mu      sync.Mutex
	revoked []string
}

func (e *env) revokedIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.revoked)
}

// newEnv builds a Service on a fresh store of the dialect, with registration
// open, throttles off unless opt sets them, and a clock starting now.
func newEnv(tb testing.TB, dialect string, opt func(o *ServiceOptions, clk *syncClock)) *env {
	tb.Helper()
	e := &env{
		db:      storetest.Open(tb, dialect),
		clk:     &syncClock{t: time.Now().UTC()},
		metrics: metrics.New(),
	}
	var err error
	e.tokens, err = NewTokens(TokenOptions{Secret: testSecret, Leeway: 5 * time.Second, AccessTTL: 15 * time.Minute, Now: e.clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	o := ServiceOptions{
		Store:             e.db,
		Tokens:            e.tokens,
		Hasher:            NewHasher(2),
		RefreshTTL:        testRefresh,
		AllowRegistration: true,
		OnRevoke: func(id string) {
			e.mu.Lock()
			e.revoked = append(e.revoked, id)
			e.mu.Unlock()
		},
		Metrics: e.metrics,
		Now:     e.clk.Now,
	}
	if opt != nil {
		opt(&o, e.clk)
	}
	e.svc = NewService(o)
	return e
}

func (e *env) register(tb testing.TB, name string) chat.User {
	tb.Helper()
	u, err := e.svc.Register(tb.Context(), name, testPassword, testIP)
	if err != nil {
		tb.Fatalf("Register(%q): %v", name, err)
	}
	return u
}

func (e *env) login(tb testing.TB, name string) chat.TokenPair {
	tb.Helper()
	p, _, err := e.svc.Login(tb.Context(), name, testPassword, testIP)
	if err != nil {
		tb.Fatalf("Login(%q): %v", name, err)
	}
	return p
}

// guess tries n logins of name with a wrong password from testIP and fails
// unless each is refused as invalid credentials; what names them.
func (e *env) guess(tb testing.TB, name string, n int, what string) {
	tb.Helper()
	for range n {
		_, _, err := e.svc.Login(tb.Context(), name, "wrong password", testIP)
		wantCode(tb, what, err, chat.CodeInvalidCredentials)
	}
}

// wantCounter fails unless the counter c, named what in the message, reads
// want.
func wantCounter(tb testing.TB, what string, c prometheus.Collector, want float64) {
	tb.Helper()
	if got := testutil.ToFloat64(c); got != want {
		tb.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := chat.ErrorCode(err); got != code {
		tb.Fatalf("%s: code %q (err %v), want %q", what, got, err, code)
	}
}

// eachDialect runs fn on SQLite and, when CHAT_TEST_POSTGRES_URL is set, on
// PostgreSQL.
func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}
