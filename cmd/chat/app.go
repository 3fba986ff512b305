package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chatsvc/chat/client"
)

// app is what both modes of the chat share: the REST client of the
// stored session and its socket.
type app struct {
	api  *client.Client
	sock *client.Socket
	mu   sync.Mutex
	// dmNames remembers the other user of each direct room seen.
	dmNames map[string]string
	// me is the user's name as GET /api/v1/me told it, "" before.
	me string
}

// username returns the user's name: the one the server greeted the socket
// with, else the one GET /api/v1/me tells (asked once); "" when neither
// can be had.
func (a *app) username(ctx context.Context) string {
	if u := a.sock.User(); u != "" {
		return u
	}
	a.mu.Lock()
	me := a.me
	a.mu.Unlock()
	if me != "" {
		return me
	}
	u, err := a.api.Me(ctx)
	if err != nil {
		return ""
	}
	a.mu.Lock()
	a.me = u.Username
	a.mu.Unlock()
	return u.Username
}

// dmName returns the other user of a direct room, when known.
func (a *app) dmName(room string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.dmNames[room]
	return u, ok
}

// setDMName remembers the other user of a direct room.
func (a *app) setDMName(room, user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dmNames[room] = user
}

// openApp loads the stored session and returns the app of the server
// given by the flag, CHAT_URL or the session; refreshed tokens are saved
// back to the session file.
func openApp(env environment, urlFlag string) (*app, error) {
	path, err := sessionPath(env.getenv)
	if err != nil {
		return nil, err
	}
	sess, err := loadSession(path)
	if err != nil {
		return nil, err
	}
	serverURL := env.serverURL(urlFlag, sess.URL)
	api, err := client.New(serverURL, client.Options{OnTokens: func(t client.Tokens) {
		if saveErr := saveSession(path, sessionFromTokens(sess.URL, t)); saveErr != nil {
			fmt.Fprintln(env.stderr, "chat:", saveErr)
		}
	}})
	if err != nil {
		return nil, err
	}
	api.SetTokens(client.Tokens{Access: sess.AccessToken, Refresh: sess.RefreshToken, Expiry: sess.Expiry})
	return &app{api: api, sock: api.Socket(), dmNames: map[string]string{}}, nil
}

// errStopped ends a chat without an error: the server closed normally.
var errStopped = errors.New("stopped")

// stopError turns the end of the socket into the error the command
// returns: nil for a cancelled context or a normal close.
func stopError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return explainStop(err)
}

// explainStop turns why the chat stopped into advice for the user.
func explainStop(err error) error {
	var ce *client.CloseError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrSessionRevoked):
		return errors.New("session revoked (logged out elsewhere?): run `chat login` again")
	case errors.Is(err, client.ErrSessionEnded):
		return errors.New("session ended (logged out elsewhere, revoked or expired): run `chat login` again")
	case errors.As(err, &ce) && ce.Code == 1000:
		return errStopped
	}
	return err
}

// isSessionEnd reports whether err means the session is over.
func isSessionEnd(err error) bool {
	return errors.Is(err, client.ErrSessionEnded) || errors.Is(err, client.ErrNotLoggedIn)
}
