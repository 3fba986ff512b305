package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// REST limits of the contract and of this client.
const (
	// requestTimeout bounds one REST request.
	requestTimeout = 15 * time.Second
	// maxResponseBytes bounds the body of a REST answer this client reads.
	maxResponseBytes = 16 << 20
	// maxRoomsPage and maxMessagesPage are the largest pages the server
	// hands out.
	maxRoomsPage    = 500
	maxMessagesPage = 200
)

// apiError is an error answer of the REST API.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code == "" {
		return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
	}
	return fmt.Sprintf("%s (%s)", msg, e.Code)
}

// isAPIError reports whether err is an apiError with the given status.
func isAPIError(err error, status int) bool {
	var e *apiError
	return errors.As(err, &e) && e.Status == status
}

// apiClient speaks the REST API of one server.
type apiClient struct {
	base *url.URL
	http *http.Client
}

// newAPIClient returns a client of the server at rawURL (http or https,
// optionally with a path prefix).
func newAPIClient(rawURL string) (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(rawURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("server url %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server url %q: want http://HOST[:PORT] or https://…", rawURL)
	}
	u.RawQuery, u.Fragment = "", ""
	return &apiClient{base: u, http: &http.Client{Timeout: requestTimeout}}, nil
}

// wsURL returns the WebSocket endpoint of the server.
func (c *apiClient) wsURL() string {
	u := c.base.JoinPath("ws")
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	return u.String()
}

// do sends one request and decodes a 2xx JSON answer into out (when not
// nil); any other answer is an *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, token string, in, out any) error {
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
		e := &apiError{Status: resp.StatusCode}
		var eb chat.ErrorBody
		if json.Unmarshal(data, &eb) == nil {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// credentials is the body of register and login.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// refreshBody is the body of refresh and logout.
type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

// register creates an account.
func (c *apiClient) register(ctx context.Context, username, password string) (chat.UserJSON, error) {
	var out struct {
		User chat.UserJSON `json:"user"`
	}
	err := c.do(ctx, http.MethodPost, "api/v1/auth/register", nil, "", credentials{username, password}, &out)
	return out.User, err
}

// login starts a session.
func (c *apiClient) login(ctx context.Context, username, password string) (chat.TokenPair, error) {
	var out chat.TokenPair
	err := c.do(ctx, http.MethodPost, "api/v1/auth/login", nil, "", credentials{username, password}, &out)
	return out, err
}

// refresh spends refreshToken for a new pair.
func (c *apiClient) refresh(ctx context.Context, refreshToken string) (chat.TokenPair, error) {
	var out chat.TokenPair
	err := c.do(ctx, http.MethodPost, "api/v1/auth/refresh", nil, "", refreshBody{refreshToken}, &out)
	return out, err
}

// logout revokes the session of refreshToken.
func (c *apiClient) logout(ctx context.Context, refreshToken string) error {
	return c.do(ctx, http.MethodPost, "api/v1/auth/logout", nil, "", refreshBody{refreshToken}, nil)
}

// me returns the user of an access token.
func (c *apiClient) me(ctx context.Context, token string) (chat.UserJSON, error) {
	var out struct {
		User chat.UserJSON `json:"user"`
	}
	err := c.do(ctx, http.MethodGet, "api/v1/me", nil, token, nil, &out)
	return out.User, err
}

// roomsPage is one page of the room list.
type roomsPage struct {
	Rooms []chat.RoomJSON `json:"rooms"`
	Next  *string         `json:"next"`
}

// rooms returns one page of rooms named after after.
func (c *apiClient) rooms(ctx context.Context, token, after string, limit int) (roomsPage, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if after != "" {
		q.Set("after", after)
	}
	var out roomsPage
	err := c.do(ctx, http.MethodGet, "api/v1/rooms", q, token, nil, &out)
	return out, err
}

// messagesPage is one page of a room's history, oldest first.
type messagesPage struct {
	Messages []chat.MessageJSON `json:"messages"`
	HasMore  bool               `json:"has_more"`
}

// messages returns the newest limit messages of room with a seq below
// before (0: the newest).
func (c *apiClient) messages(ctx context.Context, token, room string, before int64, limit int) (messagesPage, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	var out messagesPage
	err := c.do(ctx, http.MethodGet, "api/v1/rooms/"+url.PathEscape(room)+"/messages", q, token, nil, &out)
	return out, err
}
