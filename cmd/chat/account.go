package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// accountFlags are the flags of register and login.
type accountFlags struct {
	username string
	password string
	url      string
}

// parseAccountFlags parses -u, -p and -url and finds the password.
func parseAccountFlags(name string, args []string, env environment) (accountFlags, error) {
	var f accountFlags
	fs := env.newFlagSet(name)
	fs.StringVar(&f.username, "u", "", "user name")
	fs.StringVar(&f.password, "p", "", "password (else CHAT_PASSWORD, else the first line of stdin)")
	fs.StringVar(&f.url, "url", "", "server URL (else CHAT_URL, else "+defaultURL+")")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	if f.username == "" {
		return f, fmt.Errorf("%s: -u NAME is required", name)
	}
	u, err := chat.NormalizeUsername(f.username)
	if err != nil {
		return f, fmt.Errorf("%s: %s", name, chat.ErrorMessage(err))
	}
	f.username = u
	f.url = env.serverURL(f.url, "")
	if f.password == "" {
		f.password = env.getenv("CHAT_PASSWORD")
	}
	if f.password == "" {
		fmt.Fprint(env.stderr, "password: ")
		line, err := bufio.NewReader(env.stdin).ReadString('\n')
		if err != nil && line == "" {
			return f, fmt.Errorf("%s: read the password from stdin: %w", name, err)
		}
		f.password = strings.TrimRight(line, "\r\n")
	}
	if err := chat.ValidatePassword(f.password); err != nil {
		return f, fmt.Errorf("%s: %s", name, chat.ErrorMessage(err))
	}
	return f, nil
}

// runRegister creates an account.
func runRegister(ctx context.Context, name string, args []string, env environment) error {
	f, err := parseAccountFlags(name, args, env)
	if err != nil {
		return err
	}
	api, err := newAPIClient(f.url)
	if err != nil {
		return err
	}
	u, err := api.register(ctx, f.username, f.password)
	if err != nil {
		return fmt.Errorf("register: %w", explain(err))
	}
	fmt.Fprintf(env.stderr, "registered %s; now run `chat login -u %s`\n", u.Username, u.Username)
	return nil
}

// runLogin starts a session and stores its tokens.
func runLogin(ctx context.Context, name string, args []string, env environment) error {
	f, err := parseAccountFlags(name, args, env)
	if err != nil {
		return err
	}
	path, err := sessionPath(env.getenv)
	if err != nil {
		return err
	}
	api, err := newAPIClient(f.url)
	if err != nil {
		return err
	}
	pair, err := api.login(ctx, f.username, f.password)
	if err != nil {
		return fmt.Errorf("login: %w", explain(err))
	}
	if err := saveSession(path, sessionFromPair(f.url, pair, time.Now())); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	fmt.Fprintf(env.stderr, "logged in as %s at %s\n", f.username, f.url)
	return nil
}

// runLogout revokes the stored session and forgets it.
func runLogout(ctx context.Context, name string, args []string, env environment) error {
	fs := env.newFlagSet(name)
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := sessionPath(env.getenv)
	if err != nil {
		return err
	}
	sess, err := loadSession(path)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	api, err := newAPIClient(sess.URL)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	err = api.logout(ctx, sess.RefreshToken)
	switch {
	case isAPIError(err, http.StatusUnauthorized):
		fmt.Fprintln(env.stderr, "the session had already ended")
	case err != nil:
		return fmt.Errorf("logout: %w", explain(err))
	default:
		fmt.Fprintln(env.stderr, "logged out")
	}
	if err := removeSession(path); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// explain turns the REST errors a person meets most into plain advice.
func explain(err error) error {
	var e *apiError
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case chat.CodeInvalidCredentials:
		return errors.New("wrong user name or password")
	case chat.CodeUsernameTaken:
		return errors.New("that user name is taken")
	case chat.CodeRegistrationClosed:
		return errors.New("registration is closed on this server")
	case chat.CodeTooManyAttempts:
		if e.RetryAfter > 0 {
			return fmt.Errorf("too many attempts: try again in %s", e.RetryAfter)
		}
		return errors.New("too many attempts: try again later")
	}
	return err
}
