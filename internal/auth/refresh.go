package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/chatsvc/chat/internal/chat"
)

// refreshTokenBytes is the entropy of a refresh token: 256 bits.
const refreshTokenBytes = 32

// maxRefreshTokenLen bounds the refresh tokens the service looks up; every
// token it issues is 43 characters.
const maxRefreshTokenLen = 256

// NewRefreshToken returns a fresh opaque refresh token (32 random bytes,
// unpadded base64url) and the hash under which it is stored.
func NewRefreshToken() (token string, hash []byte, err error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("auth: new refresh token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashRefreshToken(token), nil
}

// HashRefreshToken returns the SHA-256 of token, the only form of a refresh
// token the store keeps. A plain hash suffices because the token carries 256
// bits of randomness.
func HashRefreshToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// rotationKeyLabel labels the key that derives a refresh token's successor
// (see successor).
const rotationKeyLabel = "chat refresh rotation v1"

// successor returns the refresh token that replaces token at its rotation,
// and the jti of the access token issued with it. Both are HMAC-SHA256 of
// token under a key derived from the token secret, so a retry of the same
// refresh within the grace gets the very same pair again, while nothing
// about the successor is stored but its hash, and nobody without the
// secret and the old token can compute it.
func (s *Service) successor(token string) (next, jti string) {
	h := hmac.New(sha256.New, s.rotationKey)
	h.Write([]byte("refresh\x00"))
	h.Write([]byte(token))
	next = base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	h.Reset()
	h.Write([]byte("jti\x00"))
	h.Write([]byte(token))
	return next, hex.EncodeToString(h.Sum(nil)[:16])
}

// Refresh is RefreshFrom without a client address: only the per-session
// throttle applies.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (chat.TokenPair, error) {
	return s.RefreshFrom(ctx, refreshToken, "")
}

// Logout is LogoutFrom without a client address: only the per-session
// throttle applies.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	return s.LogoutFrom(ctx, refreshToken, "")
}

// RefreshFrom spends refreshToken and returns a new pair in the same session.
// An unknown, expired, revoked or spent token is invalid_token; a spent one
// also revokes its session (the token was stolen or replayed), evicts it and
// reports it to OnRevoke, unless it was spent within the RefreshGrace and
// its successor is still current: then it gets the same pair again.
// Refreshes are throttled per client address (IPv6 by /64) and per session:
// too_many_attempts.
func (s *Service) RefreshFrom(ctx context.Context, refreshToken, clientIP string) (chat.TokenPair, error) {
	pair, result, err := s.refresh(ctx, refreshToken, clientIP)
	switch result {
	case refreshSuccess:
		inc(s.m.refreshSuccess)
	case refreshInvalid:
		inc(s.m.refreshInvalid)
	case refreshReused:
		inc(s.m.refreshReused)
	case refreshThrottled:
		inc(s.m.rateLimitedRefresh)
	default:
		inc(s.m.refreshError)
	}
	return pair, err
}

// refreshThrottled is a refresh refused by a throttle; it is counted in
// chat_rate_limited_total{scope="refresh"}, not as a refresh result.
const refreshThrottled = "throttled"

func (s *Service) refresh(ctx context.Context, refreshToken, clientIP string) (chat.TokenPair, string, error) {
	if clientIP != "" {
		if err := hit(ctx, s.refreshT, addrKey(clientIP, loginV6Bits)); err != nil {
			return s.refreshFailed(err)
		}
	}
	if refreshToken == "" || len(refreshToken) > maxRefreshTokenLen {
		return chat.TokenPair{}, refreshInvalid, chat.ErrInvalidToken
	}
	hash := HashRefreshToken(refreshToken)
	now := s.now()
	if sc, ok := s.store.(SuspensionStore); ok {
		suspended, err := sc.SuspendedByRefresh(ctx, hash)
		if err != nil {
			return s.refreshFailed(err)
		}
		if suspended {
			return chat.TokenPair{}, refreshInvalid, chat.ErrAccountSuspended
		}
	}
	// Read first: most bad tokens never reach the writer.
	sess, _, err := s.store.LookupRefresh(ctx, hash, now)
	if err != nil {
		return s.refreshFailed(err)
	}
	if !sess.Active(now) {
		return chat.TokenPair{}, refreshInvalid, chat.ErrInvalidToken
	}
	if err := hit(ctx, s.refreshSessT, sess.ID); err != nil {
		return s.refreshFailed(err)
	}
	next, jti := s.successor(refreshToken)
	sess, at, err := s.store.RotateRefresh(ctx, hash, HashRefreshToken(next), now, s.refreshGrace)
	switch {
	case err != nil && sess.ID != "":
		s.log.WarnContext(ctx, "spent refresh token presented, session revoked",
			"session_id", sess.ID, "user_id", sess.UserID)
		s.revoked(sess.ID)
		return chat.TokenPair{}, refreshReused, chat.ErrInvalidToken
	case err != nil:
		return s.refreshFailed(err)
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return chat.TokenPair{}, refreshError, fmt.Errorf("auth: refresh: session %s: %w", sess.ID, err)
	}
	access, _, err := s.tokens.IssueAt(u, sess.ID, at, jti)
	if err != nil {
		return chat.TokenPair{}, refreshError, fmt.Errorf("auth: refresh: %w", err)
	}
	return s.pair(access, next, sess, at), refreshSuccess, nil
}

// refreshFailed sorts an error of a refresh step into its result.
func (s *Service) refreshFailed(err error) (chat.TokenPair, string, error) {
	switch chat.ErrorCode(err) {
	case chat.CodeTooManyAttempts:
		return chat.TokenPair{}, refreshThrottled, err
	case chat.CodeInvalidToken:
		return chat.TokenPair{}, refreshInvalid, chat.ErrInvalidToken
	}
	return chat.TokenPair{}, refreshError, fmt.Errorf("auth: refresh: %w", err)
}

// LogoutFrom revokes the session of refreshToken, which may be its current
// token or a spent one; revoking a revoked session succeeds again without
// a write. An unknown or expired token is invalid_token. Logouts share the
// refresh throttles: too_many_attempts.
func (s *Service) LogoutFrom(ctx context.Context, refreshToken, clientIP string) error {
	if clientIP != "" {
		if err := hit(ctx, s.refreshT, addrKey(clientIP, loginV6Bits)); err != nil {
			return s.logoutFailed(err)
		}
	}
	if refreshToken == "" || len(refreshToken) > maxRefreshTokenLen {
		return chat.ErrInvalidToken
	}
	hash := HashRefreshToken(refreshToken)
	now := s.now()
	sess, _, err := s.store.LookupRefresh(ctx, hash, now)
	if err != nil {
		return s.logoutFailed(err)
	}
	if err := hit(ctx, s.refreshSessT, sess.ID); err != nil {
		return s.logoutFailed(err)
	}
	if sess.RevokedAt.IsZero() {
		if sess, err = s.store.RevokeByRefresh(ctx, hash, now); err != nil {
			return s.logoutFailed(err)
		}
	}
	s.revoked(sess.ID)
	return nil
}

func (s *Service) logoutFailed(err error) error {
	switch chat.ErrorCode(err) {
	case chat.CodeTooManyAttempts:
		inc(s.m.rateLimitedRefresh)
		return err
	case chat.CodeInvalidToken:
		return chat.ErrInvalidToken
	}
	return fmt.Errorf("auth: logout: %w", err)
}

// revoked evicts a session this Service just revoked and reports it.
func (s *Service) revoked(sessionID string) {
	s.Forget(sessionID)
	if s.onRevoke != nil {
		s.onRevoke(sessionID)
	}
}
