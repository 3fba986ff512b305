package auth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

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

		wantCounter(t, "logins success", e.metrics.AuthLogins.WithLabelValues("success"), 1)
		wantCounter(t, "refreshes success", e.metrics.AuthRefreshes.WithLabelValues("success"), 1)
		wantCounter(t, "refreshes invalid", e.metrics.AuthRefreshes.WithLabelValues("invalid"), 2)
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
		wantCounter(t, "refreshes reused", e.metrics.AuthRefreshes.WithLabelValues("reused"), 1)
	})
}

func TestLoginThrottlePerUserAndIP(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.LoginThrottle = NewMemThrottle(Rate{N: 3, Per: time.Minute}, clk.Now)
	})
	ctx := t.Context()
	e.register(t, "alice")
	e.register(t, "bob")

	e.guess(t, "alice", 3, "wrong password")
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
	e.guess(t, "alice", 2, "wrong password")
	e.login(t, "alice")
	e.guess(t, "alice", 2, "wrong password after a success")
	e.login(t, "alice")

	wantCounter(t, "logins throttled", e.metrics.AuthLogins.WithLabelValues("throttled"), 1)
	wantCounter(t, "rate limited login", e.metrics.RateLimitedLogin, 1)
	wantCounter(t, "logins failure", e.metrics.AuthLogins.WithLabelValues("failure"), 7)
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
	wantCounter(t, "rate limited register", e.metrics.RateLimitedRegister, 1)
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
	wantCounter(t, "logins error", busy.metrics.AuthLogins.WithLabelValues("error"), 2)
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
