package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/chat"
)

// accountFlags are the flags of register and login.
type accountFlags struct {
	username string
	password string
	url      string
	urlGiven bool // -url was on the command line
}

// parseAccountFlags parses -u, -p and -url and finds the password.
func parseAccountFlags(name string, args []string, env environment) (accountFlags, error) {
	var f accountFlags
	fs := env.newFlagSet(name)
	fs.StringVar(&f.username, "u", "", "user name")
	fs.StringVar(&f.password, "p", "", "password (else CHAT_PASSWORD, else asked for)")
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
	f.urlGiven = f.url != ""
	f.url = env.serverURL(f.url, "")
	if _, err := client.ParseURL(f.url); err != nil {
		return f, fmt.Errorf("%s: %w", name, err)
	}
	if f.password == "" {
		f.password = env.getenv("CHAT_PASSWORD")
	}
	if f.password == "" {
		p, err := readPassword(env)
		if err != nil {
			return f, fmt.Errorf("%s: %w", name, err)
		}
		f.password = p
	}
	if err := chat.ValidatePassword(f.password); err != nil {
		return f, fmt.Errorf("%s: %s", name, chat.ErrorMessage(err))
	}
	return f, nil
}

// readPassword asks for the password: without echo when stdin is a
// terminal, else as the first line of stdin.
func readPassword(env environment) (string, error) {
	fmt.Fprint(env.stderr, "password: ")
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// runRegister creates an account.
func runRegister(ctx context.Context, name string, args []string, env environment) error {
	f, err := parseAccountFlags(name, args, env)
	if err != nil {
		return err
	}
	api, err := client.New(f.url, client.Options{})
	if err != nil {
		return err
	}
	u, err := api.Register(ctx, f.username, f.password)
	if err != nil {
		return fmt.Errorf("register: %w", explainAPI(err))
	}
	hint := "chat login -u " + u.Username
	if f.urlGiven {
		hint += " -url " + f.url
	}
	fmt.Fprintf(env.stderr, "registered %s; now run `%s`\n", u.Username, hint)
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
	var saveErr error
	api, err := client.New(f.url, client.Options{OnTokens: func(t client.Tokens) {
		saveErr = saveSession(path, sessionFromTokens(f.url, t))
	}})
	if err != nil {
		return err
	}
	if _, err := api.Login(ctx, f.username, f.password); err != nil {
		return fmt.Errorf("login: %w", explainAPI(err))
	}
	if saveErr != nil {
		return fmt.Errorf("login: %w", saveErr)
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
	api, err := client.New(sess.URL, client.Options{})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	api.SetTokens(client.Tokens{Access: sess.AccessToken, Refresh: sess.RefreshToken, Expiry: sess.Expiry})
	err = api.Logout(ctx)
	switch {
	case errors.Is(err, &client.APIError{Status: 401}):
		fmt.Fprintln(env.stderr, "the session had already ended")
	case err != nil:
		return fmt.Errorf("logout: %w", explainAPI(err))
	default:
		fmt.Fprintln(env.stderr, "logged out")
	}
	if err := removeSession(path); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// sessionFromTokens is the stored form of a client's tokens.
func sessionFromTokens(serverURL string, t client.Tokens) savedSession {
	return savedSession{URL: serverURL, AccessToken: t.Access, RefreshToken: t.Refresh, Expiry: t.Expiry}
}
