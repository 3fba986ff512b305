package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/servertest"
	"github.com/chatsvc/chat/internal/store/storetest"
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
	syncs  int // commands typed by show
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

// eachDatabase runs fn, as parallel subtests named after the database,
// against a server on SQLite and one on PostgreSQL (skipped when
// CHAT_TEST_POSTGRES_URL is not set).
func eachDatabase(t *testing.T, fn func(t *testing.T, srv *servertest.Server)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, servertest.Start(t, map[string]string{"CHAT_DB_URL": storetest.URL(t, d)}))
		})
	}
}

// restAPI returns a REST client of a's user in a session of its own, so
// the checks of a test never spend the tokens of the client under test.
func restAPI(t testing.TB, serverURL string, a account) *client.Client {
	t.Helper()
	api, err := client.New(serverURL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := api.Login(ctx, a.name, a.password); err != nil {
		t.Fatalf("log %s in for REST checks: %v", a.name, err)
	}
	return api
}

// mark is a position in a client's stdout and stderr.
type mark struct{ out, err int }

// mark returns the current end of the client's output, for waits that
// look only at what comes after it.
func (c *cli) mark() mark { return mark{len(c.out.String()), len(c.errOut.String())} }

// outSince returns what the client printed on stdout after m.
func (c *cli) outSince(m mark) string { return c.out.String()[m.out:] }

// errSince returns what the client printed on stderr after m.
func (c *cli) errSince(m mark) string { return c.errOut.String()[m.err:] }

// waitOutSince waits until stdout after m contains s.
func (c *cli) waitOutSince(t testing.TB, m mark, s string) {
	t.Helper()
	waitUntil(t, c.name+" stdout", func() string { return c.outSince(m) }, s)
}

// waitErrSince waits until stderr after m contains s.
func (c *cli) waitErrSince(t testing.TB, m mark, s string) {
	t.Helper()
	waitUntil(t, c.name+" stderr", func() string { return c.errSince(m) }, s)
}

// do types line and waits until stderr shows wantErr after it.
func (c *cli) do(t testing.TB, line, wantErr string) {
	t.Helper()
	m := c.mark()
	c.line(t, line)
	c.waitErrSince(t, m, wantErr)
}

// doOut types line and waits until stdout shows wantOut after it.
func (c *cli) doOut(t testing.TB, line, wantOut string) {
	t.Helper()
	m := c.mark()
	c.line(t, line)
	c.waitOutSince(t, m, wantOut)
}

// show types a command that prints, and returns what it printed on
// stdout. The client carries out lines one after another, writing a
// command's output before it reads the next line, so the output is
// complete once the client has answered a command it does not know,
// typed after it.
func (c *cli) show(t testing.TB, line string) string {
	t.Helper()
	c.syncs++
	sync := fmt.Sprintf("/sync-%d", c.syncs)
	m := c.mark()
	c.line(t, line)
	c.line(t, sync)
	c.waitErrSince(t, m, "unknown command "+sync+" ")
	return c.outSince(m)
}

// wantLines fails the test unless out has each of lines, each a whole
// line.
func wantLines(t testing.TB, what, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains("\n"+out, "\n"+l+"\n") {
			t.Errorf("%s printed:\n%s\nwant the line %q", what, out, l)
		}
	}
}

// stepWait bounds each step of the room and moderation tests: generous,
// since the machine may be loaded.
const stepWait = 30 * time.Second

// waitUntil polls text until it contains s, for up to stepWait.
func waitUntil(t testing.TB, what string, text func() string, s string) {
	t.Helper()
	deadline := time.Now().Add(stepWait)
	for !strings.Contains(text(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after %s; got:\n%s", what, s, stepWait, text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
