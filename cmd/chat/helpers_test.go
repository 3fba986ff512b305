package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/servertest"
)

// testTimeout bounds every command a test runs.
const testTimeout = 90 * time.Second

// envFunc returns a getenv reading env.
func envFunc(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// account is a user of a test: its environment points at the server and
// at its own config directory.
type account struct {
	name, password string
	env            map[string]string
}

// sessionPath returns the path of the account's session file.
func (a account) sessionPath() string {
	return filepath.Join(a.env["CHAT_CONFIG_DIR"], sessionFile)
}

// session reads the account's session file.
func (a account) session(t testing.TB) savedSession {
	t.Helper()
	s, err := loadSession(a.sessionPath())
	if err != nil {
		t.Fatalf("read session of %s: %v", a.name, err)
	}
	return s
}

// newAccount registers name on the server and logs it in with the CLI.
func newAccount(t testing.TB, serverURL, name string) account {
	t.Helper()
	a := account{
		name:     name,
		password: "password-of-" + name,
		env: map[string]string{
			"CHAT_URL":        serverURL,
			"CHAT_CONFIG_DIR": filepath.Join(t.TempDir(), "config"),
		},
	}
	if _, stderr, err := runCommand(t, a.env, "", "register", "-u", name, "-p", a.password); err != nil {
		t.Fatalf("register %s: %v\n%s", name, err, stderr)
	}
	if _, stderr, err := runCommand(t, a.env, "", "login", "-u", name, "-p", a.password); err != nil {
		t.Fatalf("login %s: %v\n%s", name, err, stderr)
	}
	return a
}

// runCommand runs one CLI command to its end and returns its output.
func runCommand(t testing.TB, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var out, errOut servertest.Buffer
	err = run(ctx, append([]string{"chat"}, args...), envFunc(env), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// cli is an interactive client running in the test process, its stdin
// a pipe the test writes lines to.
type cli struct {
	name   string
	stdin  *os.File
	out    servertest.Buffer
	errOut servertest.Buffer
	done   chan error
	cancel context.CancelFunc
}

// startChat runs `chat args…` as a, until the test ends.
func startChat(t testing.TB, a account, args ...string) *cli {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	c := &cli{name: a.name, stdin: w, done: make(chan error, 1), cancel: cancel}
	go func() {
		c.done <- run(ctx, append([]string{"chat"}, args...), envFunc(a.env), r, &c.out, &c.errOut)
		r.Close()
	}()
	t.Cleanup(func() {
		cancel()
		w.Close()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Errorf("client %s did not stop", a.name)
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", a.name, c.out.String(), a.name, c.errOut.String())
		}
	})
	return c
}

// line types one line.
func (c *cli) line(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, s+"\n"); err != nil {
		t.Fatalf("type into %s: %v", c.name, err)
	}
}

// waitOut waits until stdout contains s.
func (c *cli) waitOut(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	waitFor(t, c.name+" stdout", &c.out, s, timeout)
}

// waitErr waits until stderr contains s.
func (c *cli) waitErr(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	waitFor(t, c.name+" stderr", &c.errOut, s, timeout)
}

// waitFor polls b until it contains s.
func waitFor(t testing.TB, what string, b *servertest.Buffer, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after %s; got:\n%s", what, s, timeout, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the client to return.
func (c *cli) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err // for the cleanup
		return err
	case <-time.After(timeout):
		t.Fatalf("client %s still running after %s", c.name, timeout)
		return nil
	}
}

// roomLines returns the lines of out about room, in order.
func roomLines(out, room string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "["+room+"] ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// restHistory reads the newest messages of room over REST with a's
// stored access token.
func restHistory(t testing.TB, serverURL string, a account, room string) []chat.MessageJSON {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, serverURL+"/api/v1/rooms/"+url.PathEscape(room)+"/messages?limit=200", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.session(t).AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("history of %s: %s: %s", room, resp.Status, b)
	}
	var page struct {
		Messages []chat.MessageJSON `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return page.Messages
}
