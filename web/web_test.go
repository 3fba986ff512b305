//go:build linux

package web_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/servertest"
	"github.com/chatsvc/chat/web"
)

const (
	// chromiumPath is the browser the test drives: Debian's Chromium.
	chromiumPath = "/usr/bin/chromium"
	// browserTimeout bounds the whole browser run; the script has its own,
	// shorter limit (browserScriptTimeout) so that it fails with a message.
	browserTimeout       = 240 * time.Second
	browserScriptTimeout = 230 * time.Second
	// testAccessTTL is short so that the run sees a token refresh.
	testAccessTTL = "15s"
	// testReplayLimit is below the 3 messages the page misses while it is
	// offline, so that it must page the rest over REST (truncated replay).
	testReplayLimit = "2"
	// testMaxTextChars is below the page's own limit (the contract's default
	// of 4000), so that the service refuses a text the page lets through.
	testMaxTextChars = "300"
)

// TestFS checks that the page and every module it imports are embedded.
func TestFS(t *testing.T) {
	importRE := regexp.MustCompile(`(?m)^import (?:.* from )?"\./([^"]+)";$`)
	need := []string{"index.html", "style.css", "app.js"}
	seen := map[string]bool{}
	for len(need) > 0 {
		name := need[0]
		need = need[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(web.FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				t.Fatalf("%s is empty", name)
			}
			for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
				need = append(need, m[1])
			}
		})
	}
	if len(seen) < 5 {
		t.Errorf("found %d files from index.html, want the page, its style and its modules", len(seen))
	}
}

// TestNoUnsafeSinks checks the client's code for what it promises never to
// use: localStorage (the refresh token stays out of it) and innerHTML-like
// sinks (user text goes in with textContent only).
func TestNoUnsafeSinks(t *testing.T) {
	forbidden := []string{"localStorage.", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("}
	err := fs.WalkDir(web.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		b, err := fs.ReadFile(web.FS(), path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			for _, f := range forbidden {
				if strings.Contains(line, f) {
					t.Errorf("%s:%d uses %s", path, i+1, f)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestModules runs the unit tests of the page's modules under Node, from a
// copy of web/ placed under a folder whose package.json says "commonjs": the
// modules must load as ES modules whatever a parent folder declares.
func TestModules(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: skipping the module tests")
	}
	parent := t.TempDir()
	writeFile(t, filepath.Join(parent, "package.json"), []byte(`{"type": "commonjs"}`))
	dir := filepath.Join(parent, "web")
	if err := os.CopyFS(filepath.Join(dir, "static"), web.FS()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"package.json", "test/package.json", "test/unit.test.mjs"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), b)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "unit.test.mjs")
	cmd.Dir = filepath.Join(dir, "test")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", lastLines(string(out), 9))
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser drives the page in Chromium with two users, restarts the
// service under them, and checks that the page resumes with nothing missed
// (see test/browser.mjs for the scenario).
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip(chromiumPath + " not installed: skipping the browser test")
	}
	if _, err := os.Stat(filepath.Join("test", "node_modules", "playwright-core")); err != nil {
		t.Skip("web/test/node_modules/playwright-core missing (npm ci --prefix web/test): skipping the browser test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: skipping the browser test")
	}

	srv := servertest.Start(t, map[string]string{
		"CHAT_ACCESS_TTL":      testAccessTTL,
		"CHAT_WS_REPLAY_LIMIT": testReplayLimit,
		"CHAT_MAX_TEXT_CHARS":  testMaxTextChars,
	})

	shot := os.Getenv("CHAT_WEB_SCREENSHOT")
	if shot == "" {
		dir, err := filepath.Abs(filepath.Join("test", "out"))
		if err != nil {
			t.Fatal(err)
		}
		shot = filepath.Join(dir, "chat.png")
	}

	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "browser.mjs")
	cmd.Dir = "test"
	cmd.Env = append(os.Environ(),
		"CHAT_WEB_URL="+srv.URL,
		"CHAT_WEB_SCREENSHOT="+shot,
		"CHAT_WEB_CHROMIUM="+chromiumPath,
		"CHAT_WEB_REPLAY_LIMIT="+testReplayLimit,
		"CHAT_WEB_MAX_TEXT="+testMaxTextChars,
		"CHAT_WEB_TIMEOUT_MS="+strconv.FormatInt(browserScriptTimeout.Milliseconds(), 10),
	)
	// Node and the browsers it starts share a process group, ended whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out strings.Builder
	restarts := 0
	for line := range lines {
		out.WriteString(line + "\n")
		start := time.Now()
		switch line {
		case "RESTART":
			srv.Restart()
			restarts++
		case "STOP":
			if err := srv.Stop(); err != nil {
				t.Errorf("service exit: %v", err)
			}
		case "START":
			srv.Restart() // starts it again: it is stopped
		default:
			t.Log(line)
			continue
		}
		t.Logf("%s done in %v", line, time.Since(start).Round(time.Millisecond))
		if _, err := io.WriteString(stdin, "OK\n"); err != nil {
			t.Errorf("tell the browser test %s is done: %v", line, err)
		}
	}
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("browser test: %v (context: %v)\nstdout:\n%s\nstderr:\n%s\nservice log (last lines):\n%s",
			err, ctx.Err(), out.String(), stderr.String(), lastLines(srv.Logs(), 40))
	}
	if restarts != 1 {
		t.Errorf("the browser test asked for %d restarts, want 1", restarts)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
