package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

func TestAuthenticate(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, _ *syncClock) { o.RefreshTTL = 10 * time.Minute })
	alice := e.register(t, "alice")
	bob := e.register(t, "bob")
	p := e.login(t, "alice")
	c, err := e.svc.Authenticate(ctx, p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("unknown session", func(t *testing.T) {
		tok, _, err := e.tokens.Issue(alice, "0192f0a0-0000-7000-8000-00000000dead")
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, tok)
		wantCode(t, "Authenticate", err, chat.CodeInvalidToken)
	})
	t.Run("session of another user", func(t *testing.T) {
		tok, _, err := e.tokens.Issue(bob, c.SessionID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(ctx, tok)
		wantCode(t, "Authenticate", err, chat.CodeInvalidToken)
	})
	t.Run("garbage", func(t *testing.T) {
		_, err := e.svc.Authenticate(ctx, "garbage")
		wantCode(t, "Authenticate", err, chat.CodeInvalidToken)
	})
	t.Run("revoked elsewhere", func(t *testing.T) {
		p := e.login(t, "alice")
		c, err := e.svc.Authenticate(ctx, p.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		// Another node revokes the session in the shared store.
		if _, err := e.db.RevokeByRefresh(ctx, HashRefreshToken(p.RefreshToken), e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		// Until this node hears of it, the cached answer may stand for at
		// most sessionCacheTTL ...
		if _, err := e.svc.Authenticate(ctx, p.AccessToken); err != nil {
			t.Fatalf("within the cache window: %v", err)
		}
		// ... and the revocation event evicts it at once.
		e.svc.Forget(c.SessionID)
		_, err = e.svc.Authenticate(ctx, p.AccessToken)
		wantCode(t, "after Forget", err, chat.CodeInvalidToken)
	})
	t.Run("revoked elsewhere, cache expires", func(t *testing.T) {
		p := e.login(t, "alice")
		if _, err := e.svc.Authenticate(ctx, p.AccessToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.RevokeByRefresh(ctx, HashRefreshToken(p.RefreshToken), e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(sessionCacheTTL)
		_, err := e.svc.Authenticate(ctx, p.AccessToken)
		wantCode(t, "after the cache window", err, chat.CodeInvalidToken)
	})
	t.Run("session expired before the access token", func(t *testing.T) {
		p := e.login(t, "alice")
		e.clk.Advance(11 * time.Minute) // session 10m, access token 15m
		_, err := e.svc.Authenticate(ctx, p.AccessToken)
		wantCode(t, "Authenticate", err, chat.CodeInvalidToken)
	})
	t.Run("access token expired", func(t *testing.T) {
		e.clk.Advance(16 * time.Minute)
		_, err := e.svc.Authenticate(ctx, p.AccessToken)
		wantCode(t, "Authenticate", err, chat.CodeTokenExpired)
	})
}

// racingStore loads a session, then lets a revocation land (in the store and
// through Forget, as a broker event would) before returning what it loaded.
type racingStore struct {
	*store.DB
	onLoad func(sessionID string)
}

func (r *racingStore) Session(ctx context.Context, id string) (chat.Session, error) {
	s, err := r.DB.Session(ctx, id)
	if r.onLoad != nil {
		r.onLoad(id)
	}
	return s, err
}

// TestAuthenticateRevokedWhileLoading checks a session revoked while
// Authenticate was reading it is not cached as active.
func TestAuthenticateRevokedWhileLoading(t *testing.T) {
	ctx := t.Context()
	rs := &racingStore{}
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, _ *syncClock) {
		rs.DB = o.Store.(*store.DB)
		o.Store = rs
	})
	e.register(t, "alice")
	p := e.login(t, "alice")
	rs.onLoad = func(id string) {
		rs.onLoad = nil
		if _, err := e.db.RevokeByRefresh(ctx, HashRefreshToken(p.RefreshToken), e.clk.Now()); err != nil {
			t.Error(err)
		}
		e.svc.Forget(id)
	}
	if _, err := e.svc.Authenticate(ctx, p.AccessToken); err != nil {
		t.Fatalf("first Authenticate (read before the revocation): %v", err)
	}
	_, err := e.svc.Authenticate(ctx, p.AccessToken)
	wantCode(t, "Authenticate after the revocation", err, chat.CodeInvalidToken)
}

func TestIsRefused(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{chat.ErrInvalidToken, true},
		{chat.ErrTokenExpired, true},
		{fmt.Errorf("auth: authenticate: %w", errors.New("sql: database is closed")), false},
		{chat.Errorf(chat.CodeInvalidRequest, "x"), false},
	}
	for _, tt := range tests {
		if got := IsRefused(tt.err); got != tt.want {
			t.Errorf("IsRefused(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
