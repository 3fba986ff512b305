package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Session cache bounds: Authenticate remembers that a session was active
// for at most sessionCacheTTL, for at most sessionCacheMax sessions, so a
// burst of requests of one session costs one store read a second. A
// revocation seen by this node (Logout, refresh-token reuse, Forget) evicts
// the entry at once.
const (
	sessionCacheTTL = time.Second
	sessionCacheMax = 10_000
)

// cachedSession records that a session of userID was active, and is taken
// to stay so until until, and the user's name as the store holds it.
type cachedSession struct {
	userID   string
	username string
	until    time.Time
}

// ErrStore marks an Authenticate that failed because the session or the
// user could not be read, not because of the token: the HTTP middleware
// answers it with 500, the WebSocket handshake with 503. Its chat code is
// internal.
var ErrStore = errors.New("auth: session store unavailable")

// Authenticate verifies an access token and checks that its session is
// still active: the one check behind every authenticated REST request and
// WebSocket handshake. The Claims' Username is the user's name as the store
// holds it, not the token's name claim. Errors have code token_expired or
// invalid_token (revoked or unknown session or user included); when the
// store fails the error wraps ErrStore (code internal).
//
// A token of the external provider (ServiceOptions.External) is verified
// by it instead; it has no session here, so no session check applies.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Claims, error) {
	if s.external != nil && s.external.Owns(accessToken) {
		return s.external.Authenticate(ctx, accessToken)
	}
	c, err := s.tokens.Parse(accessToken)
	if err != nil {
		return Claims{}, err
	}
	now := s.now()
	s.mu.Lock()
	cached, ok := s.sessions[c.SessionID]
	gen := s.gen
	s.mu.Unlock()
	if ok && cached.userID == c.UserID && now.Before(cached.until) {
		c.Username = cached.username
		return c, nil
	}

	sess, err := s.store.Session(ctx, c.SessionID)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return Claims{}, fmt.Errorf("auth: authenticate: %w: unknown session", chat.ErrInvalidToken)
	case err != nil:
		return Claims{}, fmt.Errorf("auth: authenticate: %w: %w", ErrStore, err)
	case sess.UserID != c.UserID:
		return Claims{}, fmt.Errorf("auth: authenticate: %w: session of another user", chat.ErrInvalidToken)
	case !sess.Active(now):
		return Claims{}, fmt.Errorf("auth: authenticate: %w: session revoked or expired", chat.ErrInvalidToken)
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return Claims{}, fmt.Errorf("auth: authenticate: %w: unknown user", chat.ErrInvalidToken)
	case err != nil:
		return Claims{}, fmt.Errorf("auth: authenticate: %w: %w", ErrStore, err)
	}
	until := now.Add(sessionCacheTTL)
	if sess.ExpiresAt.Before(until) {
		until = sess.ExpiresAt
	}
	s.remember(c.SessionID, cachedSession{userID: sess.UserID, username: u.Username, until: until}, gen, now)
	c.Username = u.Username
	return c, nil
}

// IsRefused reports whether err, from Authenticate, refuses the token
// (code invalid_token or token_expired). Any other error is a failure to
// check it, as when the store is unreachable: the token may be good, and a
// caller must not answer it as a bad one.
func IsRefused(err error) bool {
	switch chat.ErrorCode(err) {
	case chat.CodeInvalidToken, chat.CodeTokenExpired:
		return true
	}
	return false
}

// remember caches cs for sessionID, unless a Forget ran since the caller
// read gen (the session may have been revoked while it was being loaded).
func (s *Service) remember(sessionID string, cs cachedSession, gen uint64, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	if len(s.sessions) >= sessionCacheMax {
		for id, old := range s.sessions {
			if !now.Before(old.until) {
				delete(s.sessions, id)
			}
		}
		if len(s.sessions) >= sessionCacheMax {
			return
		}
	}
	s.sessions[sessionID] = cs
}

// Forget drops what this Service remembers about sessionID, so the next
// Authenticate of one of its tokens reads the store. Call it when another
// node reports a revocation; the Service calls it itself for the sessions it
// revokes.
func (s *Service) Forget(sessionID string) {
	s.mu.Lock()
	delete(s.sessions, sessionID)
	s.gen++
	s.mu.Unlock()
}
