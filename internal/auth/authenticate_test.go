package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

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

func TestMiddleware(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, nil)
	e.register(t, "alice")
	p := e.login(t, "alice")
	unknownSession, _, err := e.tokens.Issue(chat.User{ID: "u", Username: "x"}, "s")
	if err != nil {
		t.Fatal(err)
	}

	ec := echo.New()
	next := func(c echo.Context) error {
		claims, ok := ClaimsFrom(c)
		if !ok {
			return errors.New("no claims")
		}
		return c.JSON(http.StatusOK, map[string]string{"sub": claims.UserID, "name": claims.Username})
	}
	h := e.svc.Middleware()(next)

	tests := []struct {
		name          string
		auth          string
		url           string
		wantCode      string
		wantChallenge string
	}{
		{name: "valid", auth: "Bearer " + p.AccessToken, url: "/api/v1/me"},
		{name: "missing", url: "/api/v1/me", wantCode: chat.CodeInvalidToken, wantChallenge: "Bearer"},
		{name: "query is not read", url: "/api/v1/me?access_token=" + p.AccessToken, wantCode: chat.CodeInvalidToken, wantChallenge: "Bearer"},
		{name: "basic", auth: "Basic YWxpY2U6cGFzc3dvcmQ=", url: "/api/v1/me", wantCode: chat.CodeInvalidToken, wantChallenge: `Bearer error="invalid_token"`},
		{name: "forged", auth: "Bearer " + p.AccessToken + "x", url: "/api/v1/me", wantCode: chat.CodeInvalidToken, wantChallenge: `Bearer error="invalid_token"`},
		{name: "unknown session", auth: "Bearer " + unknownSession, url: "/api/v1/me", wantCode: chat.CodeInvalidToken, wantChallenge: `Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.url, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			err := h(ec.NewContext(req, rec))
			wantCode(t, "middleware", err, tt.wantCode)
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
			}
			if tt.wantCode != "" {
				return
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body["name"] != "alice" || body["sub"] == "" {
				t.Fatalf("handler saw %v", body)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		e.clk.Advance(time.Hour)
		req := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+p.AccessToken)
		rec := httptest.NewRecorder()
		err := h(ec.NewContext(req, rec))
		wantCode(t, "middleware", err, chat.CodeTokenExpired)
		if got := rec.Header().Get("WWW-Authenticate"); got != Challenge(chat.ErrTokenExpired) {
			t.Fatalf("WWW-Authenticate = %q", got)
		}
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
