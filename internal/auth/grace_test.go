package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// graceNodes builds two Services, as two nodes would run them: separate
// connections to one database, the same secret, one clock.
func graceNodes(t *testing.T, dialect string, grace time.Duration) (a, b *Service, clk *syncClock) {
	t.Helper()
	u := storetest.URL(t, dialect)
	clk = &syncClock{t: time.Now().UTC()}
	node := func() *Service {
		db, err := store.Open(t.Context(), u, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		tokens, err := NewTokens(TokenOptions{Secret: testSecret, Leeway: 5 * time.Second, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		return NewService(ServiceOptions{Store: db, Tokens: tokens, Hasher: NewHasher(2), AllowRegistration: true,
			RefreshGrace: grace, Metrics: metrics.New(), Now: clk.Now})
	}
	return node(), node(), clk
}

// rotatedOnce registers alice on svc, logs her in and refreshes once, and
// returns the pair of the login, whose refresh token is now spent, and the
// pair of the refresh.
func rotatedOnce(t testing.TB, svc *Service) (first, second chat.TokenPair) {
	t.Helper()
	ctx := t.Context()
	if _, err := svc.Register(ctx, "alice", testPassword, testIP); err != nil {
		t.Fatal(err)
	}
	first, _, err := svc.Login(ctx, "alice", testPassword, testIP)
	if err != nil {
		t.Fatal(err)
	}
	second, err = svc.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	return first, second
}

// TestRefreshGrace checks that the refresh token just spent gets the same
// pair again within the grace, on the node that rotated it and on another,
// and that reuse after the grace still ends the session.
func TestRefreshGrace(t *testing.T) {
	const grace = 10 * time.Second
	eachDialect(t, func(t *testing.T, dialect string) {
		a, b, clk := graceNodes(t, dialect, grace)
		ctx := t.Context()
		first, second := rotatedOnce(t, a)
		clk.Advance(grace / 2)
		for name, node := range map[string]*Service{"same node": a, "other node": b} {
			again, err := node.Refresh(ctx, first.RefreshToken)
			if err != nil {
				t.Fatalf("%s: retry within the grace: %v", name, err)
			}
			if again.RefreshToken != second.RefreshToken || again.AccessToken != second.AccessToken {
				t.Fatalf("%s: retry within the grace gave another pair", name)
			}
		}
		if _, err := b.Authenticate(ctx, second.AccessToken); err != nil {
			t.Fatalf("the pair of the retry does not work: %v", err)
		}

		// The new refresh token works once; the first one, past the grace,
		// ends the session.
		third, err := b.Refresh(ctx, second.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(grace)
		_, err = a.Refresh(ctx, first.RefreshToken)
		wantCode(t, "reuse after the grace", err, chat.CodeInvalidToken)
		_, err = b.Refresh(ctx, third.RefreshToken)
		wantCode(t, "the session's current token after the reuse", err, chat.CodeInvalidToken)
	})
}

// TestRefreshGraceOff checks that without a grace a retry is reuse.
func TestRefreshGraceOff(t *testing.T) {
	a, _, _ := graceNodes(t, store.DialectSQLite, 0)
	ctx := t.Context()
	first, second := rotatedOnce(t, a)
	_, err := a.Refresh(ctx, first.RefreshToken)
	wantCode(t, "retry without grace", err, chat.CodeInvalidToken)
	_, err = a.Refresh(ctx, second.RefreshToken)
	wantCode(t, "after the reuse", err, chat.CodeInvalidToken)
}

// TestAuthenticateNameFromStore checks that the username attached to a
// request is the stored one, not the token's name claim.
func TestAuthenticateNameFromStore(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, nil)
	alice := e.register(t, "alice")
	p := e.login(t, "alice")
	c, err := e.tokens.Parse(p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	// A token of alice's session whose name claim says mallory.
	forged, _, err := e.tokens.Issue(chat.User{ID: alice.ID, Username: "mallory"}, c.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // uncached, then cached
		got, err := e.svc.Authenticate(t.Context(), forged)
		if err != nil {
			t.Fatal(err)
		}
		if got.Username != "alice" {
			t.Fatalf("Username %q, want the stored alice", got.Username)
		}
	}
}

// TestAuthenticateStoreFailure checks that a store that cannot be read is
// reported as ErrStore (internal), not as a bad token.
func TestAuthenticateStoreFailure(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, nil)
	e.register(t, "alice")
	p := e.login(t, "alice")
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Authenticate(context.Background(), p.AccessToken)
	if !errors.Is(err, ErrStore) || chat.ErrorCode(err) != chat.CodeInternal {
		t.Fatalf("Authenticate on a closed store: %v (code %q), want ErrStore with code internal", err, chat.ErrorCode(err))
	}
	if Challenge(err) != "" {
		t.Fatalf("a store failure got the challenge %q", Challenge(err))
	}
}
