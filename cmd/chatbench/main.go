// Command chatbench is a load generator for the chat service. It speaks only
// the public HTTP and WebSocket contract and measures four scenarios:
//
//	idle    N authenticated sockets joined to rooms: connects/s and server memory per socket
//	fanout  N members in one room, P senders at R messages/s: deliveries/s, latency, loss
//	send    C concurrent senders: acknowledged (durably stored) messages/s and ack latency
//	login   concurrent logins: logins/s and latency
//
// It either drives a running server (-url, optionally -pid for /proc
// readings) or starts one itself (-server-bin) with a fresh SQLite file and
// the limits a benchmark needs. Every run is bounded by -timeout and stops by
// itself. Results go to stdout as a table and as one JSON line per scenario,
// starting with {"scenario":.
//
// Example:
//
//	chatbench -server-bin /tmp/chat-api -scenario fanout -members 1000 -senders 10 -rate 100 -duration 20s
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chatbench:", err)
		os.Exit(1)
	}
}

// run parses the flags, prepares the server and the users, and runs each
// requested scenario in turn, reporting each one to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	if cfg.cpuProf != "" {
		f, err := os.Create(cfg.cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	lim, err := raiseFileLimit()
	if err != nil {
		fmt.Fprintf(stderr, "file limit: %v\n", err)
	}
	fmt.Fprintf(stderr, "file descriptor limit: %d\n", lim)

	if cfg.serverBin != "" {
		secret, err := newSecret()
		if err != nil {
			return err
		}
		cfg.secret = secret
		cfg.nodeURLs = nil
		for i := range cfg.nodes {
			srv, err := startServer(ctx, cfg, secret, stderr)
			if err != nil {
				return fmt.Errorf("node %d: %w", i+1, err)
			}
			defer srv.stop(stderr)
			cfg.nodeURLs = append(cfg.nodeURLs, srv.url)
			cfg.pids = append(cfg.pids, srv.pid)
			if i == 0 {
				cfg.url, cfg.pid, cfg.pprofURL = srv.url, srv.pid, srv.pprof
			}
		}
	}
	b, err := newBench(cfg, stderr)
	if err != nil {
		return err
	}
	defer b.closeIdle()
	if err := b.prepareUsers(ctx); err != nil {
		return err
	}
	for _, sc := range cfg.scenarios {
		var res *result
		switch sc {
		case "idle":
			res, err = b.idle(ctx)
		case "fanout":
			res, err = b.fanout(ctx)
		case "send":
			res, err = b.send(ctx)
		case "login":
			res, err = b.login(ctx)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", sc, err)
		}
		res.write(stdout)
	}
	return nil
}

// raiseFileLimit raises the soft limit on open files to the hard limit, so
// one process can hold as many sockets as the machine allows, and returns
// the limit in force.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return l.Cur, err
		}
	}
	return l.Cur, nil
}
