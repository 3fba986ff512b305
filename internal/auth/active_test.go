package auth

import (
	"slices"
	"testing"
)

// sessionOf returns the session id of an access token.
func sessionOf(t *testing.T, e *env, access string) string {
	t.Helper()
	c, err := e.tokens.Parse(access)
	if err != nil {
		t.Fatal(err)
	}
	return c.SessionID
}

func TestInactiveSessions(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		ctx := t.Context()
		e := newEnv(t, dialect, nil)
		e.register(t, "alice")
		kept := e.login(t, "alice")
		gone := e.login(t, "alice")
		elsewhere := e.login(t, "alice")
		keptID, goneID, elsewhereID := sessionOf(t, e, kept.AccessToken), sessionOf(t, e, gone.AccessToken), sessionOf(t, e, elsewhere.AccessToken)
		ext := ExternalSessionPrefix + "0123"

		// Seen by this node: remembered, then revoked here.
		if _, err := e.svc.Authenticate(ctx, gone.AccessToken); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Logout(ctx, gone.RefreshToken); err != nil {
			t.Fatal(err)
		}
		// Remembered as active, then revoked by another node whose word
		// never arrived: believed for the cache's second, no longer.
		if _, err := e.svc.Authenticate(ctx, elsewhere.AccessToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.RevokeByRefresh(ctx, HashRefreshToken(elsewhere.RefreshToken), e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		ids := []string{keptID, goneID, elsewhereID, ext, "no-such-session"}
		got, err := e.svc.InactiveSessions(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		want := []string{goneID, "no-such-session"}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("InactiveSessions = %v, want %v", got, want)
		}

		e.clk.Advance(2 * sessionCacheTTL)
		got, err = e.svc.InactiveSessions(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		want = []string{goneID, elsewhereID, "no-such-session"}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("InactiveSessions past the cache = %v, want %v", got, want)
		}

		// Every session of this Service ends with its lifetime; the
		// external one has none here.
		e.clk.Advance(testRefresh)
		got, err = e.svc.InactiveSessions(ctx, []string{keptID, ext})
		if err != nil || !slices.Equal(got, []string{keptID}) {
			t.Fatalf("InactiveSessions after expiry = %v, %v; want [%s]", got, err, keptID)
		}
		if got, err := e.svc.InactiveSessions(ctx, nil); err != nil || got != nil {
			t.Fatalf("InactiveSessions(none) = %v, %v", got, err)
		}
	})
}

// sessionOnlyStore hides the optional batch capability of the store.
type sessionOnlyStore struct{ Store }

func TestInactiveSessionsOneByOne(t *testing.T) {
	e := newEnv(t, "sqlite", func(o *ServiceOptions, _ *syncClock) { o.Store = sessionOnlyStore{o.Store} })
	e.register(t, "bob")
	kept, gone := e.login(t, "bob"), e.login(t, "bob")
	if err := e.svc.Logout(t.Context(), gone.RefreshToken); err != nil {
		t.Fatal(err)
	}
	goneID := sessionOf(t, e, gone.AccessToken)
	got, err := e.svc.InactiveSessions(t.Context(), []string{sessionOf(t, e, kept.AccessToken), goneID})
	if err != nil || !slices.Equal(got, []string{goneID}) {
		t.Fatalf("InactiveSessions = %v, %v; want [%s]", got, err, goneID)
	}
}
