package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
)

// wait bounds every wait of a test.
const wait = 30 * time.Second

// login registers name on the server at url and returns a logged-in
// client.
func login(t testing.TB, url, name string) *client.Client {
	t.Helper()
	c, err := client.New(url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := c.Register(ctx, name, "password-of-"+name); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	if _, err := c.Login(ctx, name, "password-of-"+name); err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return c
}

// running is a Socket whose Run runs until the test ends, and whose
// events are collected in order.
type running struct {
	*client.Socket
	events chan client.Event
	done   chan error
	cancel context.CancelFunc
}

// startSocket runs a socket of c.
func startSocket(t testing.TB, c *client.Client) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Socket: c.Socket(), events: make(chan client.Event, 10000), done: make(chan error, 1), cancel: cancel}
	go func() {
		for ev := range r.Events() {
			r.events <- ev
		}
	}()
	go func() { r.done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("socket did not stop")
		}
	})
	return r
}

// next returns the next event for which keep is true, skipping others.
func (r *running) next(t testing.TB, keep func(client.Event) bool) client.Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case ev := <-r.events:
			if keep(ev) {
				return ev
			}
		case err := <-r.done:
			r.done <- err
			t.Fatalf("socket stopped: %v", err)
		case <-deadline:
			t.Fatal("no awaited event")
		}
	}
}

// joined waits for the Joined of room.
func (r *running) joined(t testing.TB, room string) *client.Joined {
	t.Helper()
	return r.next(t, func(ev client.Event) bool {
		j, ok := ev.(*client.Joined)
		return ok && j.Room == room
	}).(*client.Joined)
}

// messages collects the texts of the next n messages of room.
func (r *running) messages(t testing.TB, room string, n int) []*client.Message {
	t.Helper()
	var out []*client.Message
	for len(out) < n {
		m := r.next(t, func(ev client.Event) bool {
			m, ok := ev.(*client.Message)
			return ok && m.Room == room
		}).(*client.Message)
		out = append(out, m)
	}
	return out
}

// stopped waits for Run to return and returns its error.
func (r *running) stopped(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(wait):
		t.Fatal("socket still running")
		return nil
	}
}

// ctx returns a context bounded by wait.
func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}
