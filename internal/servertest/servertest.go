// Package servertest starts the real chat service binary for tests that
// need a whole server in its own process: clients, restarts, crashes.
package servertest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/api once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "chat-api-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "api")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/api")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build cmd/api: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Server is one running service process.
type Server struct {
	t    testing.TB
	env  map[string]string
	cmd  *exec.Cmd
	Addr string // host:port it listens on
	// URL is http://Addr.
	URL  string
	logs *Buffer
	done chan error
}

// Start runs the service with the given CHAT_ variables (CHAT_ADDR defaults
// to 127.0.0.1:0, CHAT_DB_URL to a SQLite file in a temp dir, the JWT secret
// to a fixed test secret) and waits until it listens. It is stopped at the
// end of the test.
func Start(t testing.TB, env map[string]string) *Server {
	t.Helper()
	e := map[string]string{
		"CHAT_ADDR":       "127.0.0.1:0",
		"CHAT_DB_URL":     "sqlite:" + filepath.Join(t.TempDir(), "chat.db"),
		"CHAT_JWT_SECRET": "test-secret-test-secret-test-secret-0123",
		"CHAT_LOG_LEVEL":  "debug",
	}
	for k, v := range env {
		e[k] = v
	}
	s := &Server{t: t, env: e}
	s.start()
	t.Cleanup(func() { s.Stop() })
	return s
}

func (s *Server) start() {
	s.t.Helper()
	cmd := exec.Command(Binary(s.t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	s.logs = &Buffer{}
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	s.done = make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	select {
	case a := <-addr:
		s.Addr = a
		s.URL = "http://" + a
	case err := <-s.done:
		s.t.Fatalf("service exited at start: %v\n%s", err, s.logs.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		s.t.Fatalf("service did not start in 30s\n%s", s.logs.String())
	}
	// Pin the port so a restart comes back on the same address.
	s.env["CHAT_ADDR"] = s.Addr
	s.waitHealthy()
}

func (s *Server) waitHealthy() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("service not healthy\n%s", s.logs.String())
}

// Stop sends SIGTERM and waits for a clean exit, returning the exit error.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		err = <-s.done
	}
	s.cmd = nil
	return err
}

// Kill ends the process with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart stops the service cleanly and starts it again on the same address
// and database.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.Stop(); err != nil {
		s.t.Fatalf("service exit: %v\n%s", err, s.logs.String())
	}
	s.start()
}

// Logs returns what the service wrote to stderr so far.
func (s *Server) Logs() string { return s.logs.String() }

// Pid returns the process id, 0 when stopped.
func (s *Server) Pid() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// WaitExit waits for the process to exit by itself.
func (s *Server) WaitExit(ctx context.Context) error {
	select {
	case err := <-s.done:
		s.cmd = nil
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Buffer collects what a server or client under test writes (its log, its
// output) and is safe for those writers and the reading test at once. The
// zero Buffer is empty and ready to use.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
