package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Timings of a server started with -server-bin.
const (
	// serverStartTimeout bounds the wait for "listening on".
	serverStartTimeout = 30 * time.Second
	// serverStopTimeout bounds the wait for a clean exit after SIGTERM.
	serverStopTimeout = 20 * time.Second
	// serverPoll is how often a peer's listening address is tried.
	serverPoll = 50 * time.Millisecond
)

// server is a cmd/api process started by the benchmark.
type server struct {
	cmd   *exec.Cmd
	dir   string
	log   *os.File
	url   string
	pprof string // base URL of the pprof listener, empty when not known
	pid   int
	done  chan error
}

// serverEnv is the environment of a benchmark server: a fresh SQLite file,
// throttles off, the per-socket frame rate and the per-user socket limit
// raised so the load generator, not the limits, decides the load. Extra
// KEY=VALUE entries override these.
func serverEnv(c config, dir, pprofAddr, secret string) ([]string, error) {
	perUser := (c.maxSockets()+c.users-1)/c.users + 16
	env := map[string]string{
		"CHAT_ADDR":                  "127.0.0.1:0",
		"CHAT_DB_URL":                "sqlite:" + filepath.Join(dir, "chat.db"),
		"CHAT_JWT_SECRET":            secret,
		"CHAT_WS_MAX_CONNS_PER_USER": strconv.Itoa(perUser),
		"CHAT_RATE_MSGS":             "1000000",
		"CHAT_RATE_BURST":            "1000000",
		"CHAT_LOGIN_RATE":            "0",
		"CHAT_LOGIN_IP_RATE":         "0",
		"CHAT_LOGIN_USER_RATE":       "0",
		"CHAT_REGISTER_RATE":         "0",
		"CHAT_WS_COMPRESSION":        strconv.FormatBool(c.compress),
		"CHAT_LOG_LEVEL":             "warn",
		"CHAT_PPROF_ADDR":            pprofAddr,
	}
	for _, kv := range c.serverEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out, nil
}

// launch is how a benchmark server is started.
type launch struct {
	args  []string
	env   []string
	addr  string // where it listens, when chosen beforehand; else read from its "listening on" line
	pprof string // base URL of its pprof listener, empty when none
}

// newLaunch returns the command line and environment of the -target
// server, with its files in dir.
func newLaunch(c config, dir, secret string) (launch, error) {
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	switch c.target {
	case targetGorilla:
		addr, err := freeLoopbackAddr()
		return launch{args: []string{"-addr", addr}, env: base, addr: addr}, err
	case targetCentrifugo:
		addr, err := freeLoopbackAddr()
		if err != nil {
			return launch{}, err
		}
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		path, err := writeCentrifugoConfig(dir, host, p, secret, c.compress)
		return launch{args: []string{"--config", path}, env: base, addr: addr, pprof: "http://" + addr}, err
	}
	pprofAddr, err := freeLoopbackAddr()
	if err != nil {
		return launch{}, err
	}
	env, err := serverEnv(c, dir, pprofAddr, secret)
	l := launch{env: env}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "CHAT_PPROF_ADDR="); ok && v != "" {
			l.pprof = "http://" + v
		}
	}
	return l, err
}

// startServer runs the -server-bin binary and waits until it listens: for
// the service, its "listening on" line; for a peer, a connect to the
// address it was given. The child inherits the raised file limit.
func startServer(ctx context.Context, c config, secret string, stderr io.Writer) (*server, error) {
	dir, err := os.MkdirTemp("", "chatbench-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, done: make(chan error, 1)}
	l, err := newLaunch(c, dir, secret)
	if err != nil {
		s.cleanup()
		return nil, err
	}
	logPath := c.serverLog
	if logPath == "" {
		logPath = filepath.Join(dir, "server.log")
	}
	if s.log, err = os.Create(logPath); err != nil {
		s.cleanup()
		return nil, err
	}
	// Not CommandContext: the server gets SIGTERM and time to exit cleanly.
	s.cmd = exec.Command(c.serverBin, l.args...)
	s.cmd.Env = l.env
	s.cmd.Dir = dir
	s.cmd.Stderr = s.log
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		s.cleanup()
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("start server: %w", err)
	}
	s.pid = s.cmd.Process.Pid
	addr := make(chan string, 1)
	go scanListening(stdout, s.log, addr)
	if l.addr != "" {
		go dialUntilUp(ctx, l.addr, addr)
	}
	go func() { s.done <- s.cmd.Wait() }()
	select {
	case a := <-addr:
		s.url = "http://" + a
		s.pprof = l.pprof
		fmt.Fprintf(stderr, "server pid %d listening on %s\n", s.pid, a)
		return s, nil
	case err := <-s.done:
		s.cmd = nil
		tail := s.logTail()
		s.cleanup()
		return nil, fmt.Errorf("server exited at start: %v\n%s", err, tail)
	case <-time.After(serverStartTimeout):
		err = errors.New("server did not start in time")
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.stop(stderr)
	return nil, err
}

// scanListening copies the server's stdout to log and sends the address of
// its first "listening on ADDR" line to addr.
func scanListening(stdout io.Reader, log io.Writer, addr chan<- string) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			select {
			case addr <- a:
			default:
			}
		}
		fmt.Fprintln(log, sc.Text())
	}
	_, _ = io.Copy(log, stdout)
}

// dialUntilUp sends a to up once a TCP connect to a succeeds.
func dialUntilUp(ctx context.Context, a string, up chan<- string) {
	for ctx.Err() == nil {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			_ = c.Close()
			select {
			case up <- a:
			default:
			}
			return
		}
		time.Sleep(serverPoll)
	}
}

// stop sends SIGTERM, waits for the exit (SIGKILL after serverStopTimeout)
// and removes the temp dir.
func (s *server) stop(stderr io.Writer) {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.done:
			if err != nil {
				fmt.Fprintf(stderr, "server exit: %v\n", err)
			}
		case <-time.After(serverStopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
			fmt.Fprintln(stderr, "server killed after the stop timeout")
		}
		s.cmd = nil
	}
	s.cleanup()
}

func (s *server) cleanup() {
	if s.log != nil {
		_ = s.log.Close()
	}
	_ = os.RemoveAll(s.dir)
}

// newSecret returns a JWT secret the nodes of one run share.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago, for the server's pprof listener.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// logTail returns the end of the server's log.
func (s *server) logTail() string {
	b, err := os.ReadFile(s.log.Name())
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
