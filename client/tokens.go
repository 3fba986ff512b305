package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Token refresh timing.
const (
	// refreshShare is the share of an access token's life after which it
	// is refreshed.
	refreshShare = 0.8
	// refreshMargin is the least time before the expiry at which the
	// refresh is done, for the refresh and the auth frame to get through.
	refreshMargin = time.Second
	// minRefreshInterval keeps a server that hands out very short tokens
	// from being asked for new ones in a tight loop.
	minRefreshInterval = 500 * time.Millisecond
	// expiryPrecision is taken off expires_in: a JWT's exp is in whole
	// seconds, so the token may end up to a second early.
	expiryPrecision = time.Second
)

// SetTokens makes the client use a session's tokens (read from disk, for
// example). A zero Expiry means the token is refreshed at its first use.
func (c *Client) SetTokens(t Tokens) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens, c.issued, c.refreshed = t, time.Now(), false
}

// Tokens returns the current tokens.
func (c *Client) Tokens() Tokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}

// accessToken returns the access token and whether its refresh is due.
func (c *Client) accessToken() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens.Access, !time.Now().Before(c.refreshAtLocked())
}

// RefreshAt returns when the access token should be refreshed: at 80% of
// the life it had when the client got it, and at least a second before it
// expires.
func (c *Client) RefreshAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refreshAtLocked()
}

func (c *Client) refreshAtLocked() time.Time {
	var floor time.Duration
	if c.refreshed {
		floor = minRefreshInterval
	}
	return refreshTime(c.issued, c.tokens.Expiry, floor)
}

// refreshTime is RefreshAt for a token obtained at issued that expires at
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

// Refresh spends the refresh token for a new pair. A refused refresh token
// (401, or 403 account_suspended) is ErrSessionEnded.
func (c *Client) Refresh(ctx context.Context) error {
	token, _ := c.accessToken()
	return c.refreshFrom(ctx, token)
}

// refreshFrom refreshes unless another caller already replaced the access
// token seen, so concurrent callers spend the refresh token once.
func (c *Client) refreshFrom(ctx context.Context, seen string) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	cur := c.Tokens()
	if cur.Access != seen {
		return nil
	}
	if cur.Refresh == "" {
		return ErrNotLoggedIn
	}
	var pair TokenPair
	err := c.do(ctx, http.MethodPost, "api/v1/auth/refresh", nil, "", refreshBody{cur.Refresh}, &pair)
	if errorsIsStatus(err, http.StatusUnauthorized) || errors.Is(err, CodeAccountSuspended) {
		return fmt.Errorf("refresh: %w (%w)", ErrSessionEnded, err)
	}
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	c.setPair(pair)
	return nil
}

// setPair stores a pair the server just handed out and reports it.
func (c *Client) setPair(pair TokenPair) {
	now := time.Now()
	t := Tokens{
		Access:  pair.AccessToken,
		Refresh: pair.RefreshToken,
		Expiry:  now.Add(max(time.Duration(pair.ExpiresIn)*time.Second-expiryPrecision, 0)).UTC(),
	}
	c.mu.Lock()
	c.tokens, c.issued, c.refreshed = t, now, true
	c.mu.Unlock()
	if c.onTokens != nil {
		c.onTokens(t)
	}
}

// asAPIError returns err's *APIError.
func asAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}
