package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

func TestLineModeExitStatus(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, map[string]string{"CHAT_MAX_TEXT_CHARS": "10"})
	alice := newAccount(t, srv.URL, "alice")
	tests := []struct {
		name, input string
		wantErr     string // "" for success
		wantOut     string
	}{
		{"all acked", "one\ntwo\n", "", "[general] alice: two\n"},
		{"a line refused by the server", "ok\nthis line is too long\nlast\n", "1 line(s) not sent", "[general] alice: last\n"},
		{"a blank line is skipped", "\n   x\n", "", "[general] alice:    x\n"},
		{"a command fails the script", "/edit 999 nope\nafter\n", "1 line(s) not sent", "[general] alice: after\n"},
		{"a line without a room fails the script", "/leave\nnowhere to go\n", "1 line(s) not sent", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runCommand(t, alice.env, tt.input)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("got %v, want success\n%s", err, stderr)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %v, want %q\n%s", err, tt.wantErr, stderr)
			}
			if !strings.HasSuffix(stdout, tt.wantOut) {
				t.Errorf("stdout:\n%s\nwant it to end with %q", stdout, tt.wantOut)
			}
		})
	}
}

// TestLineModeResults checks what line mode says of each outcome of a
// send, and how it ends: a send the server may have stored is "not
// confirmed", never "not sent".
func TestLineModeResults(t *testing.T) {
	t.Parallel()
	refused := &client.FrameError{Code: client.CodeMuted, Message: "you are muted", Room: "general"}
	unknown := fmt.Errorf("#general: %w (the connection that carried it ended before the answer)", client.ErrOutcomeUnknown)
	closed := fmt.Errorf("%w: %w", client.ErrClosed, client.ErrOutcomeUnknown)
	tests := []struct {
		name     string
		errs     []error // one result each; nil for an ack
		wantNote string
		wantExit string // "" for success
	}{
		{"acked", []error{nil}, "", ""},
		{"refused", []error{refused}, "not done: #general: hi: you are muted (muted)\n", "1 line(s) not sent"},
		{"outcome unknown", []error{unknown}, "not confirmed: #general: hi: outcome unknown: the server may have stored it\n",
			"1 line(s) not confirmed (the server may have stored them)"},
		{"closed in flight", []error{closed}, "not confirmed: #general: hi: socket closed: outcome unknown",
			"1 line(s) not confirmed"},
		{"both", []error{refused, unknown, nil}, "not confirmed: ", "1 line(s) not sent; 1 line(s) not confirmed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut servertest.Buffer
			m := offlineLines(t, &out, &errOut)
			for _, err := range tt.errs {
				m.pending++
				m.answered(sendDone{client.Result{Err: err}, "#general: hi"})
			}
			if !strings.Contains(errOut.String(), tt.wantNote) {
				t.Errorf("stderr %q, want %q", errOut.String(), tt.wantNote)
			}
			err := m.exitError()
			if tt.wantExit == "" && err != nil || tt.wantExit != "" && (err == nil || !strings.Contains(err.Error(), tt.wantExit)) {
				t.Errorf("exit %v, want %q", err, tt.wantExit)
			}
		})
	}
}

func TestRegisterHintAndURLs(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	dir := t.TempDir()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		wantMsg string
	}{
		{"hint carries -url", nil, []string{"register", "-u", "ann", "-p", "password-1", "-url", srv.URL},
			"", "now run `chat login -u ann -url " + srv.URL + "`"},
		{"hint without -url", map[string]string{"CHAT_URL": srv.URL}, []string{"register", "-u", "bea", "-p", "password-1"},
			"", "now run `chat login -u bea`\n"},
		{"url without a scheme", nil, []string{"login", "-u", "ann", "-p", "password-1", "-url", "localhost:8080"},
			"has no scheme: write http://localhost:8080", ""},
		{"CHAT_URL without a scheme", map[string]string{"CHAT_URL": "example.com"}, []string{"register", "-u", "cid", "-p", "password-1"},
			"has no scheme", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"CHAT_CONFIG_DIR": dir}
			for k, v := range tt.env {
				env[k] = v
			}
			_, stderr, err := runCommand(t, env, "", tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(stderr, tt.wantMsg) {
				t.Fatalf("got %v, stderr %q, want %q", err, stderr, tt.wantMsg)
			}
		})
	}
}

func TestBinaryLineMode(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	bin := filepath.Join(t.TempDir(), "chat")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Dir(file)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := t.TempDir()
	chatCmd := func(stdin string, args ...string) (string, string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "CHAT_CONFIG_DIR="+cfg, "CHAT_URL="+srv.URL, "CHAT_PASSWORD=password-of-dan")
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	for _, args := range [][]string{{"register", "-u", "dan"}, {"login", "-u", "dan"}} {
		if _, stderr, err := chatCmd("", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	// Not a terminal: line mode, every line printed, exit status 0.
	stdout, stderr, err := chatCmd("deploy started\ndeploy done\n", "-room", "ops")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, stderr)
	}
	if want := "[ops] dan: deploy started\n[ops] dan: deploy done\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if _, _, err := chatCmd("   \n", "-room", "Not A Room"); err == nil {
		t.Error("a malformed -room was accepted")
	}
	// Nothing to send: done at once, even with the server away.
	srv.Stop()
	start := time.Now()
	if _, stderr, err := chatCmd(""); err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("empty stdin with the server away: %v after %s\n%s", err, time.Since(start), stderr)
	}
}
