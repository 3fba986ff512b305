// Command promtraffic drives a little traffic through a running chat service
// for the metrics end-to-end check (scripts/prom-e2e.sh): it registers a
// user, logs in over REST, opens /ws, joins a room and sends messages, each
// acknowledged, then closes the socket with 1000. It speaks only the public
// contract, through the client package.
//
// With -free-port it prints a free loopback TCP port and exits.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/chatsvc/chat/client"
)

// httpTimeout bounds each REST call.
const httpTimeout = 10 * time.Second

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "promtraffic:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("promtraffic", flag.ContinueOnError)
	base := fs.String("base", "", "base URL of the service, e.g. http://127.0.0.1:8080")
	n := fs.Int("n", 20, "messages to send")
	every := fs.Duration("every", 150*time.Millisecond, "pause between two messages")
	room := fs.String("room", "general", "room to send to")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on the whole run")
	freePort := fs.Bool("free-port", false, "print a free loopback TCP port and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *freePort {
		return printFreePort()
	}
	if *base == "" {
		return errors.New("-base is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	return traffic(ctx, strings.TrimRight(*base, "/"), *room, *n, *every)
}

func printFreePort() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

// traffic registers a fresh user, logs in and sends n messages to room.
func traffic(ctx context.Context, base, room string, n int, every time.Duration) error {
	user := "e2e_" + randomHex(6)
	password := randomHex(16)
	c, err := client.New(base, client.Options{HTTPClient: &http.Client{Timeout: httpTimeout}})
	if err != nil {
		return err
	}
	if _, err := c.Register(ctx, user, password); err != nil {
		return err
	}
	// A wrong password first, so a failed login shows up too.
	if _, err := c.Login(ctx, user, password+"x"); !errors.Is(err, client.CodeInvalidCredentials) {
		return fmt.Errorf("login with a wrong password: got %v, want invalid_credentials", err)
	}
	if _, err := c.Login(ctx, user, password); err != nil {
		return err
	}

	// The socket closes with 1000 when its context ends.
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	s := c.Socket()
	done := make(chan error, 1)
	go func() { done <- s.Run(sctx) }()
	go func() {
		for range s.Events() {
		}
	}()
	s.Join(room, -1)
	for i := range n {
		text := fmt.Sprintf("end-to-end message %d of %d", i+1, n)
		if _, err := s.Send(ctx, room, text); err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		return fmt.Errorf("socket: %w", err)
	}
	fmt.Printf("promtraffic: %s sent %d messages to %s\n", user, n, room)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
