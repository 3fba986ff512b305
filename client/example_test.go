package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

func ExampleSocket() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := client.New(exampleServer(), client.Options{
		OnTokens: func(client.Tokens) { /* save them for the next run */ },
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Register(ctx, "ada", "correct horse"); err != nil && !errors.Is(err, client.CodeUsernameTaken) {
		log.Fatal(err)
	}
	if _, err := c.Login(ctx, "ada", "correct horse"); err != nil {
		log.Fatal(err)
	}

	s := c.Socket()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	s.Join("general", 0) // since 0: replay the room from its start

	ack, err := s.Send(ctx, "general", "hello, world")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored at seq", ack.Seq)
	for ev := range s.Events() {
		if m, ok := ev.(*client.Message); ok && m.Seq == ack.Seq {
			fmt.Printf("#%s %s: %s\n", m.Room, m.From, m.Text)
			break
		}
	}
	cancel()
	fmt.Println(<-done)
	// Output:
	// stored at seq 1
	// #general ada: hello, world
	// context canceled
}

// exampleTB lets the examples start a server with servertest outside a
// test: the few testing.TB methods it calls are implemented here.
type exampleTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
}

func (*exampleTB) Helper()                      {}
func (*exampleTB) Fatal(args ...any)            { log.Fatal(args...) }
func (*exampleTB) Fatalf(f string, args ...any) { log.Fatalf(f, args...) }
func (*exampleTB) Errorf(f string, args ...any) { log.Printf(f, args...) }
func (*exampleTB) Logf(f string, args ...any)   { log.Printf(f, args...) }
func (e *exampleTB) Cleanup(f func())           { e.mu.Lock(); e.cleanups = append(e.cleanups, f); e.mu.Unlock() }
func (e *exampleTB) TempDir() string {
	d, err := os.MkdirTemp("", "chat-example-")
	if err != nil {
		log.Fatal(err)
	}
	e.mu.Lock()
	e.dirs = append(e.dirs, d)
	e.mu.Unlock()
	return d
}

// close runs the cleanups, the latest first, and removes the directories.
func (e *exampleTB) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	for _, d := range e.dirs {
		_ = os.RemoveAll(d)
	}
}

var (
	exampleOnce sync.Once
	exampleEnv  = &exampleTB{}
	exampleURL  string
)

// exampleServer starts the service for the examples once and returns its
// URL.
func exampleServer() string {
	exampleOnce.Do(func() { exampleURL = servertest.Start(exampleEnv, nil).URL })
	return exampleURL
}

func TestMain(m *testing.M) {
	code := m.Run()
	exampleEnv.close()
	os.Exit(code)
}
