package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

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

func TestServiceFlow(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		ctx := t.Context()
		e := newEnv(t, dialect, nil)

		u := e.register(t, "Alice")
		if u.Username != "alice" || u.ID == "" {
			t.Fatalf("Register = %+v, want username alice and an id", u)
		}
		_, err := e.svc.Register(ctx, "ALICE", "another password", testIP)
		wantCode(t, "Register(taken)", err, chat.CodeUsernameTaken)
		_, err = e.svc.Register(ctx, "a!", testPassword, testIP)
		wantCode(t, "Register(bad name)", err, chat.CodeInvalidRequest)
		_, err = e.svc.Register(ctx, "bobby", "short", testIP)
		wantCode(t, "Register(short password)", err, chat.CodeInvalidRequest)

		pair, lu, err := e.svc.Login(ctx, "ALICE", testPassword, testIP)
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if lu.ID != u.ID || lu.Username != "alice" {
			t.Fatalf("Login user = %+v, want %+v", lu, u)
		}
		if pair.TokenType != "Bearer" || pair.ExpiresIn != 900 || pair.RefreshExpiresIn != int64(testRefresh/time.Second) ||
			pair.AccessToken == "" || len(pair.RefreshToken) != 43 {
			t.Fatalf("pair = %+v", pair)
		}
		c, err := e.svc.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if c.UserID != u.ID || c.Username != "alice" || c.SessionID == "" {
			t.Fatalf("claims = %+v", c)
		}

		e.clk.Advance(10 * time.Minute)
		pair2, err := e.svc.Refresh(ctx, pair.RefreshToken)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if pair2.RefreshToken == pair.RefreshToken || pair2.AccessToken == pair.AccessToken {
			t.Fatal("Refresh returned the old tokens")
		}
		if want := int64((testRefresh - 10*time.Minute) / time.Second); pair2.RefreshExpiresIn != want {
			t.Fatalf("refresh_expires_in after 10m = %d, want %d (sessions do not slide)", pair2.RefreshExpiresIn, want)
		}
		c2, err := e.svc.Authenticate(ctx, pair2.AccessToken)
		if err != nil {
			t.Fatalf("Authenticate(refreshed): %v", err)
		}
		if c2.SessionID != c.SessionID || c2.UserID != u.ID {
			t.Fatalf("refreshed claims = %+v, want session %s", c2, c.SessionID)
		}

		// Authenticate of the refreshed token is cached now; logout must
		// still take effect at once.
		if err := e.svc.Logout(ctx, pair2.RefreshToken); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		if got := e.revokedIDs(); !slices.Equal(got, []string{c.SessionID}) {
			t.Fatalf("OnRevoke calls %v, want [%s]", got, c.SessionID)
		}
		for _, tok := range []string{pair.AccessToken, pair2.AccessToken} {
			_, err := e.svc.Authenticate(ctx, tok)
			wantCode(t, "Authenticate after logout", err, chat.CodeInvalidToken)
		}
		_, err = e.svc.Refresh(ctx, pair2.RefreshToken)
		wantCode(t, "Refresh after logout", err, chat.CodeInvalidToken)

		// Logout is idempotent, with the current or a spent token.
		if err := e.svc.Logout(ctx, pair2.RefreshToken); err != nil {
			t.Fatalf("Logout again: %v", err)
		}
		if err := e.svc.Logout(ctx, pair.RefreshToken); err != nil {
			t.Fatalf("Logout with a spent token: %v", err)
		}
		wantCode(t, "Logout(unknown)", e.svc.Logout(ctx, "nope"), chat.CodeInvalidToken)
		wantCode(t, "Logout(empty)", e.svc.Logout(ctx, ""), chat.CodeInvalidToken)
		_, err = e.svc.Refresh(ctx, "nope")
		wantCode(t, "Refresh(unknown)", err, chat.CodeInvalidToken)

		if got := testutil.ToFloat64(e.metrics.AuthLogins.WithLabelValues("success")); got != 1 {
			t.Fatalf("logins success = %v, want 1", got)
		}
		if got := testutil.ToFloat64(e.metrics.AuthRefreshes.WithLabelValues("success")); got != 1 {
			t.Fatalf("refreshes success = %v, want 1", got)
		}
		if got := testutil.ToFloat64(e.metrics.AuthRefreshes.WithLabelValues("invalid")); got != 2 {
			t.Fatalf("refreshes invalid = %v, want 2", got)
		}
	})
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		ctx := t.Context()
		e := newEnv(t, dialect, nil)
		e.register(t, "alice")
		p1 := e.login(t, "alice")
		other := e.login(t, "alice") // a second session, which must survive
		c1, err := e.svc.Authenticate(ctx, p1.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := e.svc.Refresh(ctx, p1.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Authenticate(ctx, p2.AccessToken); err != nil {
			t.Fatal(err)
		}

		// The spent token comes back: a thief or a replay.
		_, err = e.svc.Refresh(ctx, p1.RefreshToken)
		wantCode(t, "Refresh(spent)", err, chat.CodeInvalidToken)
		if !errors.Is(err, chat.ErrInvalidToken) {
			t.Fatalf("err %v is not chat.ErrInvalidToken", err)
		}
		if got := e.revokedIDs(); !slices.Equal(got, []string{c1.SessionID}) {
			t.Fatalf("OnRevoke calls %v, want [%s]", got, c1.SessionID)
		}
		for name, tok := range map[string]string{"first access": p1.AccessToken, "refreshed access": p2.AccessToken} {
			_, err := e.svc.Authenticate(ctx, tok)
			wantCode(t, "Authenticate("+name+") after reuse", err, chat.CodeInvalidToken)
		}
		_, err = e.svc.Refresh(ctx, p2.RefreshToken)
		wantCode(t, "Refresh(current token of revoked session)", err, chat.CodeInvalidToken)

		if _, err := e.svc.Authenticate(ctx, other.AccessToken); err != nil {
			t.Fatalf("another session of the user was hit: %v", err)
		}
		if got := testutil.ToFloat64(e.metrics.AuthRefreshes.WithLabelValues("reused")); got != 1 {
			t.Fatalf("refreshes reused = %v, want 1", got)
		}
	})
}

func TestLoginThrottlePerUserAndIP(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.LoginThrottle = NewMemThrottle(Rate{N: 3, Per: time.Minute}, clk.Now)
	})
	ctx := t.Context()
	e.register(t, "alice")
	e.register(t, "bob")

	for range 3 {
		_, _, err := e.svc.Login(ctx, "alice", "wrong password", testIP)
		wantCode(t, "wrong password", err, chat.CodeInvalidCredentials)
	}
	_, _, err := e.svc.Login(ctx, "Alice", testPassword, testIP)
	wantCode(t, "right password after 3 failures", err, chat.CodeTooManyAttempts)
	var ce *chat.Error
	if !errors.As(err, &ce) || ce.RetryAfter <= 0 || ce.RetryAfter > time.Minute {
		t.Fatalf("RetryAfter of %v not in (0, 1m]", err)
	}
	// Other usernames from the same IP, and the same username from another
	// IP, are not affected.
	if _, _, err := e.svc.Login(ctx, "bob", testPassword, testIP); err != nil {
		t.Fatalf("bob from the same IP: %v", err)
	}
	if _, _, err := e.svc.Login(ctx, "alice", testPassword, "203.0.113.9"); err != nil {
		t.Fatalf("alice from another IP: %v", err)
	}
	e.clk.Advance(61 * time.Second)
	if _, _, err := e.svc.Login(ctx, "alice", testPassword, testIP); err != nil {
		t.Fatalf("alice after the window: %v", err)
	}

	// A success resets the count.
	for range 2 {
		_, _, err := e.svc.Login(ctx, "alice", "wrong password", testIP)
		wantCode(t, "wrong password", err, chat.CodeInvalidCredentials)
	}
	e.login(t, "alice")
	for range 2 {
		_, _, err := e.svc.Login(ctx, "alice", "wrong password", testIP)
		wantCode(t, "wrong password after a success", err, chat.CodeInvalidCredentials)
	}
	e.login(t, "alice")

	if got := testutil.ToFloat64(e.metrics.AuthLogins.WithLabelValues("throttled")); got != 1 {
		t.Fatalf("logins throttled = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.RateLimitedLogin); got != 1 {
		t.Fatalf("rate limited login = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.AuthLogins.WithLabelValues("failure")); got != 7 {
		t.Fatalf("logins failure = %v, want 7", got)
	}
}

func TestLoginThrottleCountsUnknownUsers(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.LoginThrottle = NewMemThrottle(Rate{N: 2, Per: time.Minute}, clk.Now)
	})
	ctx := t.Context()
	for range 2 {
		_, _, err := e.svc.Login(ctx, "ghost", testPassword, testIP)
		wantCode(t, "unknown user", err, chat.CodeInvalidCredentials)
	}
	// An unknown user is throttled like a known one, so the throttle does
	// not reveal which names exist.
	_, _, err := e.svc.Login(ctx, "ghost", testPassword, testIP)
	wantCode(t, "unknown user after 2 failures", err, chat.CodeTooManyAttempts)
}

func TestLoginIPThrottle(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.LoginIPThrottle = NewMemThrottle(Rate{N: 3, Per: time.Minute}, clk.Now)
		o.LoginThrottle = NewMemThrottle(Rate{N: 100, Per: time.Minute}, clk.Now)
	})
	ctx := t.Context()
	e.register(t, "alice")
	// Every attempt counts, whatever its username and outcome.
	_, _, err := e.svc.Login(ctx, "no!", testPassword, testIP)
	wantCode(t, "malformed username", err, chat.CodeInvalidRequest)
	_, _, err = e.svc.Login(ctx, "carol", "x", testIP)
	wantCode(t, "malformed password", err, chat.CodeInvalidRequest)
	e.login(t, "alice")
	_, _, err = e.svc.Login(ctx, "alice", testPassword, testIP)
	wantCode(t, "fourth attempt from one IP", err, chat.CodeTooManyAttempts)
	var ce *chat.Error
	if !errors.As(err, &ce) || ce.RetryAfter <= 0 {
		t.Fatalf("no RetryAfter in %v", err)
	}
	if _, _, err := e.svc.Login(ctx, "alice", testPassword, "203.0.113.9"); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	e.clk.Advance(time.Minute)
	e.login(t, "alice")
}

func TestRegisterThrottleAndClosed(t *testing.T) {
	ctx := t.Context()
	closed := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, _ *syncClock) { o.AllowRegistration = false })
	_, err := closed.svc.Register(ctx, "alice", testPassword, testIP)
	wantCode(t, "closed registration", err, chat.CodeRegistrationClosed)

	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.RegisterThrottle = NewMemThrottle(Rate{N: 2, Per: time.Hour}, clk.Now)
	})
	_, err = e.svc.Register(ctx, "x", testPassword, testIP)
	wantCode(t, "bad name", err, chat.CodeInvalidRequest)
	e.register(t, "alice")
	_, err = e.svc.Register(ctx, "bob", testPassword, testIP)
	wantCode(t, "third registration from one IP", err, chat.CodeTooManyAttempts)
	if _, err := e.svc.Register(ctx, "bob", testPassword, "203.0.113.9"); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	if got := testutil.ToFloat64(e.metrics.RateLimitedRegister); got != 1 {
		t.Fatalf("rate limited register = %v, want 1", got)
	}
}

func TestLoginUnknownUserLooksLikeWrongPassword(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, nil)
	ctx := t.Context()
	e.register(t, "alice")
	_, _, errWrong := e.svc.Login(ctx, "alice", "wrong password", testIP)
	_, _, errUnknown := e.svc.Login(ctx, "nobody", "wrong password", testIP)
	if errWrong == nil || errUnknown == nil {
		t.Fatalf("errors %v, %v; want both refused", errWrong, errUnknown)
	}
	if chat.ErrorCode(errWrong) != chat.CodeInvalidCredentials ||
		chat.ErrorCode(errWrong) != chat.ErrorCode(errUnknown) ||
		chat.ErrorMessage(errWrong) != chat.ErrorMessage(errUnknown) ||
		errWrong.Error() != errUnknown.Error() {
		t.Fatalf("wrong password %q and unknown user %q differ", errWrong, errUnknown)
	}

	// The unknown user costs a verification too: with the only hashing
	// slot taken, it has to wait for one like a known user does.
	busy := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, _ *syncClock) { o.Hasher = NewHasher(1) })
	busy.svc.hasher.slots <- struct{}{}
	for _, name := range []string{"nobody", "alice"} {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		_, _, err := busy.svc.Login(tctx, name, "wrong password", testIP)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Login(%s) with no hashing slot = %v, want DeadlineExceeded", name, err)
		}
	}
	if got := testutil.ToFloat64(busy.metrics.AuthLogins.WithLabelValues("error")); got != 2 {
		t.Fatalf("logins error = %v, want 2", got)
	}
}

func BenchmarkLogin(b *testing.B) {
	e := newEnv(b, store.DialectSQLite, nil)
	e.register(b, "alice")
	ctx := b.Context()
	for b.Loop() {
		if _, _, err := e.svc.Login(ctx, "alice", testPassword, testIP); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefresh(b *testing.B) {
	e := newEnv(b, store.DialectSQLite, nil)
	e.register(b, "alice")
	p := e.login(b, "alice")
	ctx := b.Context()
	for b.Loop() {
		var err error
		if p, err = e.svc.Refresh(ctx, p.RefreshToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b, store.DialectSQLite, nil)
	e.register(b, "alice")
	p := e.login(b, "alice")
	ctx := b.Context()
	for b.Loop() {
		if _, err := e.svc.Authenticate(ctx, p.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}
