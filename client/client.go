package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// REST limits of the client.
const (
	// requestTimeout bounds one REST request of the default HTTP client.
	requestTimeout = 15 * time.Second
	// maxResponseBytes bounds the body of a REST answer read.
	maxResponseBytes = 16 << 20
)

// Options tune a Client; the zero value works.
type Options struct {
	// HTTPClient makes the REST requests; nil means one with a 15 s
	// timeout.
	HTTPClient *http.Client
	// OnTokens is called after every login and refresh with the new
	// tokens, for example to save them. It is called with the Client's
	// refresh lock held, so it must not call the Client.
	OnTokens func(Tokens)
}

// Client speaks the REST API of one server for one session at a time.
type Client struct {
	base     *url.URL
	http     *http.Client
	onTokens func(Tokens)

	// refreshMu makes refreshes one at a time: a refresh token is single
	// use, and presenting a spent one ends the session.
	refreshMu sync.Mutex
	mu        sync.Mutex
	tokens    Tokens
	issued    time.Time // when tokens.Access was obtained or set
	refreshed bool      // this Client got the current pair itself
}

// New returns a client of the server at rawURL: http:// or https://, a host
// and optionally a path prefix. A URL without a scheme is an error.
func New(rawURL string, opts Options) (*Client, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: requestTimeout}
	}
	return &Client{base: u, http: hc, onTokens: opts.OnTokens}, nil
}

// ParseURL checks a server URL: it must have the scheme http or https and a
// host. The query and fragment are dropped.
func ParseURL(rawURL string) (*url.URL, error) {
	if !strings.Contains(rawURL, "://") {
		return nil, fmt.Errorf("server url %q has no scheme: write http://%s or https://%s", rawURL, rawURL, rawURL)
	}
	u, err := url.Parse(strings.TrimRight(rawURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("server url %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server url %q: want http://HOST[:PORT] or https://HOST", rawURL)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// WebSocketURL returns the server's WebSocket endpoint.
func (c *Client) WebSocketURL() string {
	u := c.base.JoinPath("ws")
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	return u.String()
}

// do sends one request and decodes a 2xx JSON answer into out (when not
// nil); any other answer is an *APIError.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, token string, in, out any) error {
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// apiError reads an error answer.
func apiError(resp *http.Response, data []byte) *APIError {
	e := &APIError{Status: resp.StatusCode}
	var eb struct {
		Error struct {
			Code    Code   `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &eb) == nil {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// authed calls fn with the access token, refreshing it first when it is
// due, and once more after a refresh when the server answers 401.
func (c *Client) authed(ctx context.Context, fn func(token string) error) error {
	token, due := c.accessToken()
	if token == "" {
		return ErrNotLoggedIn
	}
	if due {
		if err := c.refreshFrom(ctx, token); err != nil {
			return err
		}
		token, _ = c.accessToken()
	}
	err := fn(token)
	if !errorsIsStatus(err, http.StatusUnauthorized) {
		return err
	}
	if err := c.refreshFrom(ctx, token); err != nil {
		return err
	}
	token, _ = c.accessToken()
	return fn(token)
}

// errorsIsStatus reports whether err is an *APIError with status.
func errorsIsStatus(err error, status int) bool {
	e, ok := asAPIError(err)
	return ok && e.Status == status
}
