package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

func TestREST(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := login(t, srv.URL, "alice")

	if err := alice.Health(ctx(t)); err != nil {
		t.Errorf("Health: %v", err)
	}
	if failed, err := alice.Ready(ctx(t)); err != nil || failed != nil {
		t.Errorf("Ready = %v, %v", failed, err)
	}
	me, err := alice.Me(ctx(t))
	if err != nil || me.Username != "alice" || me.ID == "" {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	page, err := alice.Rooms(ctx(t), "", 10)
	if err != nil || len(page.Rooms) == 0 || page.Rooms[0].Name != "general" {
		t.Fatalf("Rooms = %+v, %v", page, err)
	}
	msgs, err := alice.History(ctx(t), "general", 0, 0, 10)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("History of an empty room = %+v, %v", msgs, err)
	}

	tests := []struct {
		name   string
		call   func() error
		status int
		code   client.Code
	}{
		{"unknown room", func() error { _, err := alice.Messages(ctx(t), "nowhere", 0, 0); return err }, 404, client.CodeRoomNotFound},
		{"malformed room", func() error { _, err := alice.Messages(ctx(t), "No Way", 0, 0); return err }, 400, client.CodeInvalidRoom},
		{"taken username", func() error { _, err := alice.Register(ctx(t), "alice", "another-password"); return err }, 409, client.CodeUsernameTaken},
		{"wrong password", func() error {
			c, _ := client.New(srv.URL, client.Options{})
			_, err := c.Login(ctx(t), "alice", "wrong-password")
			return err
		}, 401, client.CodeInvalidCredentials},
		{"not logged in", func() error {
			c, _ := client.New(srv.URL, client.Options{})
			_, err := c.Me(ctx(t))
			return err
		}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.status == 0 {
				if !errors.Is(err, client.ErrNotLoggedIn) {
					t.Fatalf("got %v, want ErrNotLoggedIn", err)
				}
				return
			}
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Code != tt.code {
				t.Fatalf("got %v (%#v), want HTTP %d %s", err, ae, tt.status, tt.code)
			}
			if !errors.Is(err, tt.code) || !errors.Is(err, &client.APIError{Status: tt.status}) {
				t.Errorf("errors.Is does not match %s / %d: %v", tt.code, tt.status, err)
			}
			if errors.Is(err, client.CodeInternal) || errors.Is(err, &client.APIError{Status: http.StatusTeapot}) {
				t.Errorf("errors.Is matches another code or status: %v", err)
			}
		})
	}

	if err := alice.Logout(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Me(ctx(t)); !errors.Is(err, client.ErrNotLoggedIn) {
		t.Errorf("Me after logout: %v, want ErrNotLoggedIn", err)
	}

	// A stopping server is not ready; then it is gone.
	srv.Stop()
	if err := alice.Health(ctx(t)); err == nil {
		t.Error("Health of a stopped server succeeded")
	}
	if _, err := alice.Ready(ctx(t)); err == nil {
		t.Error("Ready of a stopped server succeeded")
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, ws, err string
	}{
		{in: "http://localhost:8080", ws: "ws://localhost:8080/ws"},
		{in: "https://chat.example.com/", ws: "wss://chat.example.com/ws"},
		{in: "https://example.com/chat?x=1", ws: "wss://example.com/chat/ws"},
		{in: "localhost:8080", err: "has no scheme: write http://localhost:8080"},
		{in: "chat.example.com", err: "has no scheme"},
		{in: "ftp://x", err: "want http://"},
		{in: "http://", err: "want http://"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := client.New(tt.in, client.Options{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("New(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.WebSocketURL(); got != tt.ws {
				t.Errorf("WebSocketURL = %q, want %q", got, tt.ws)
			}
		})
	}
}
