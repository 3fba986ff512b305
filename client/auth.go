package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// credentials is the body of register and login.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// refreshBody is the body of refresh and logout.
type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

// Register creates an account.
func (c *Client) Register(ctx context.Context, username, password string) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	if err := c.do(ctx, http.MethodPost, "api/v1/auth/register", nil, "", credentials{username, password}, &out); err != nil {
		return User{}, fmt.Errorf("register: %w", err)
	}
	return out.User, nil
}

// Login starts a session; the client uses its tokens from then on.
func (c *Client) Login(ctx context.Context, username, password string) (TokenPair, error) {
	var pair TokenPair
	if err := c.do(ctx, http.MethodPost, "api/v1/auth/login", nil, "", credentials{username, password}, &pair); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	c.setPair(pair)
	return pair, nil
}

// Logout ends the session (idempotent on the server) and forgets the
// tokens. Every open socket of the session is closed with 4003.
func (c *Client) Logout(ctx context.Context) error {
	t := c.Tokens()
	if t.Refresh == "" {
		return ErrNotLoggedIn
	}
	if err := c.do(ctx, http.MethodPost, "api/v1/auth/logout", nil, "", refreshBody{t.Refresh}, nil); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	c.SetTokens(Tokens{})
	return nil
}

// Me returns the user of the session.
func (c *Client) Me(ctx context.Context) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	err := c.authed(ctx, func(token string) error {
		return c.do(ctx, http.MethodGet, "api/v1/me", nil, token, nil, &out)
	})
	if err != nil {
		return User{}, fmt.Errorf("me: %w", err)
	}
	return out.User, nil
}

// get makes an authenticated GET.
func (c *Client) get(ctx context.Context, path string, q map[string][]string, out any) error {
	return c.authed(ctx, func(token string) error {
		return c.do(ctx, http.MethodGet, path, q, token, nil, out)
	})
}

// send makes an authenticated request with a JSON body.
func (c *Client) send(ctx context.Context, method, path string, in, out any) error {
	return c.authed(ctx, func(token string) error {
		return c.do(ctx, method, path, nil, token, in, out)
	})
}

// Health reports whether the server's process answers (GET /healthz).
func (c *Client) Health(ctx context.Context) error {
	if err := c.do(ctx, http.MethodGet, "healthz", nil, "", nil, nil); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	return nil
}

// Ready reports whether the server is ready to serve (GET /readyz): nil
// when it is; otherwise an error, and for a 503 the checks that failed
// (database, broker, shutdown).
func (c *Client) Ready(ctx context.Context) (failed []string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.JoinPath("readyz").String(), nil)
	if err != nil {
		return nil, fmt.Errorf("ready: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ready: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil, nil
	}
	var out struct {
		Failed []string `json:"failed"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&out)
	return out.Failed, fmt.Errorf("ready: %w", &APIError{Status: resp.StatusCode, Message: "not ready: " + strings.Join(out.Failed, ", ")})
}
