package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Token refresh timing.
const (
	// refreshShare is the share of an access token's life after which it
	// is refreshed: 0.8 means at 80% of its life.
	refreshShare = 0.8
	// refreshMargin is the least time before the expiry at which the
	// refresh is done, for the refresh and the auth frame to get through.
	refreshMargin = time.Second
	// minRefreshInterval keeps a server that hands out very short tokens
	// from being asked for new ones in a tight loop.
	minRefreshInterval = 500 * time.Millisecond
	// expiryPrecision is taken off expires_in: a JWT's exp is in whole
	// seconds, so the token may end up to a second before
	// now + expires_in.
	expiryPrecision = time.Second
)

// errSessionEnded reports that the server no longer knows the session:
// it was revoked (a logout elsewhere), it expired, or its refresh token was
// spent twice.
var errSessionEnded = errors.New("session ended (logged out elsewhere, revoked or expired): run `chat login` again")

// tokenSource holds the current token pair of a session, refreshes it and
// keeps the session file up to date. It is used from one goroutine.
type tokenSource struct {
	api  *apiClient
	path string
	sess savedSession
	// issued is when the current access token was obtained, by this
	// machine's clock; for a token read from disk, when it was read.
	issued time.Time
	// refreshed is set once this process got a token pair itself.
	refreshed bool
}

// newTokenSource returns the source of the session stored at path.
func newTokenSource(api *apiClient, path string, sess savedSession, now time.Time) *tokenSource {
	return &tokenSource{api: api, path: path, sess: sess, issued: now}
}

// access returns the current access token.
func (t *tokenSource) access() string { return t.sess.AccessToken }

// refreshAt returns when the access token should be refreshed: at
// refreshShare of the life it had when this client got it, and at least
// refreshMargin before it expires, but, for a token this process got
// itself, not sooner than minRefreshInterval after it got it.
func (t *tokenSource) refreshAt() time.Time {
	var floor time.Duration
	if t.refreshed {
		floor = minRefreshInterval
	}
	return refreshTime(t.issued, t.sess.Expiry, floor)
}

// refreshTime is refreshAt for a token obtained at issued that expires at
// expiry, refreshed no sooner than floor after issued.
func refreshTime(issued, expiry time.Time, floor time.Duration) time.Time {
	life := expiry.Sub(issued)
	at := issued.Add(time.Duration(float64(life) * refreshShare))
	if expiry.Sub(at) < refreshMargin {
		at = expiry.Add(-refreshMargin)
		if half := issued.Add(life / 2); at.Before(half) {
			at = half
		}
	}
	if f := issued.Add(floor); at.Before(f) {
		at = f
	}
	return at
}

// refresh spends the refresh token for a new pair and saves it. An answer
// 401 from the server is errSessionEnded.
func (t *tokenSource) refresh(ctx context.Context) error {
	pair, err := t.api.refresh(ctx, t.sess.RefreshToken)
	if isAPIError(err, http.StatusUnauthorized) {
		return errSessionEnded
	}
	if err != nil {
		return fmt.Errorf("refresh token: %w", err)
	}
	now := time.Now()
	t.sess = sessionFromPair(t.sess.URL, pair, now)
	t.issued, t.refreshed = now, true
	if err := saveSession(t.path, t.sess); err != nil {
		return fmt.Errorf("refresh token: %w", err)
	}
	return nil
}

// sessionFromPair returns the session a login or refresh answered at now.
func sessionFromPair(serverURL string, pair chat.TokenPair, now time.Time) savedSession {
	return savedSession{
		URL:          serverURL,
		AccessToken:  pair.AccessToken,
		RefreshToken: pair.RefreshToken,
		Expiry:       now.Add(max(time.Duration(pair.ExpiresIn)*time.Second-expiryPrecision, 0)).UTC(),
	}
}

// withToken calls fn with the access token, refreshing first when it is
// due, and once more after a refresh when the server answers 401.
func (t *tokenSource) withToken(ctx context.Context, fn func(token string) error) error {
	if !time.Now().Before(t.refreshAt()) {
		if err := t.refresh(ctx); err != nil {
			return err
		}
	}
	err := fn(t.access())
	if !isAPIError(err, http.StatusUnauthorized) {
		return err
	}
	if err := t.refresh(ctx); err != nil {
		return err
	}
	return fn(t.access())
}
