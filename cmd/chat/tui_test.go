package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/chatsvc/chat/internal/servertest"
)

// driver runs a tuiModel as bubbletea would: each command in its own
// goroutine, each message through Update, one at a time.
type driver struct {
	m    *tuiModel
	msgs chan tea.Msg
}

// startTUI opens the full-screen view of account a in room, its socket
// running until the test ends.
func startTUI(t testing.TB, a account, room string) *driver {
	t.Helper()
	ap, err := openApp(environment{getenv: envFunc(a.env)}, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = ap.sock.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	d := &driver{m: newTUI(ctx, ap, room), msgs: make(chan tea.Msg, 1000)}
	d.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	d.run(d.m.Init())
	return d
}

// run carries out a command in the background.
func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		if msg := cmd(); msg != nil {
			d.msgs <- msg
		}
	}()
}

// send hands the model one message.
func (d *driver) send(msg tea.Msg) {
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			d.run(c)
		}
		return
	}
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

// typeLine types line and presses enter.
func (d *driver) typeLine(line string) {
	d.m.input.SetValue(line)
	d.send(tea.KeyMsg{Type: tea.KeyEnter})
}

// until handles messages until cond holds.
func (d *driver) until(t testing.TB, what string, cond func(view string) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond(d.m.View()) {
		select {
		case msg := <-d.msgs:
			d.send(msg)
		case <-deadline:
			t.Fatalf("no %s; the screen:\n%s", what, d.m.View())
		}
	}
}

// pump handles the messages that arrive within dur.
func (d *driver) pump(dur time.Duration) {
	deadline := time.After(dur)
	for {
		select {
		case msg := <-d.msgs:
			d.send(msg)
		case <-deadline:
			return
		}
	}
}

// shows waits until the screen contains s.
func (d *driver) shows(t testing.TB, s string) {
	t.Helper()
	d.until(t, strings.TrimSpace(s), func(v string) bool { return strings.Contains(v, s) })
}

func TestTUI(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := newAccount(t, srv.URL, "alice")
	bob := newAccount(t, srv.URL, "bob")
	var old strings.Builder
	for i := 1; i <= 55; i++ {
		fmt.Fprintf(&old, "old %02d\n", i)
	}
	if _, stderr, err := runCommand(t, bob.env, old.String()+"b1\nb2\nb3\n"); err != nil {
		t.Fatalf("bob: %v\n%s", err, stderr)
	}

	d := startTUI(t, alice, "general")
	// The room's recent history shows on join, with the connection state.
	d.shows(t, "bob: b3")
	d.shows(t, "connected as alice")
	for _, s := range []string{"bob: b1", "bob: b2", "#general", "Rooms"} {
		if !strings.Contains(d.m.View(), s) {
			t.Errorf("no %q on the screen:\n%s", s, d.m.View())
		}
	}

	// The user's own message shows once, marked.
	d.typeLine("hello bob")
	d.shows(t, "› alice: hello bob")
	if n := strings.Count(d.m.View(), "hello bob"); n != 1 {
		t.Errorf("own message shown %d times:\n%s", n, d.m.View())
	}

	// Incoming messages never touch the line being typed.
	d.m.input.SetValue("half typed")
	if _, _, err := runCommand(t, bob.env, "b4\n"); err != nil {
		t.Fatal(err)
	}
	d.shows(t, "bob: b4")
	if lines := strings.Split(d.m.View(), "\n"); strings.TrimRight(lines[len(lines)-1], " ") != "> half typed" {
		t.Errorf("input line %q, want %q", lines[len(lines)-1], "> half typed")
	}
	d.m.input.SetValue("")

	// Up on an empty line starts an edit of the last own message.
	d.send(tea.KeyMsg{Type: tea.KeyUp})
	if v := d.m.input.Value(); !strings.HasPrefix(v, "/edit ") || !strings.HasSuffix(v, " hello bob") {
		t.Errorf("after Up the input is %q, want an edit of the last message", v)
	}
	d.m.input.SetValue("")

	// Another room: the other one counts what arrives while away.
	d.typeLine("/join random")
	d.shows(t, "#random")
	d.until(t, "the random room joined", func(string) bool { return d.m.rooms["random"].joined })
	if _, _, err := runCommand(t, bob.env, "b5\nb6\n"); err != nil {
		t.Fatal(err)
	}
	d.shows(t, "#general 2")
	if strings.Contains(d.m.View(), "bob: b5") {
		t.Errorf("a message of #general shows in #random:\n%s", d.m.View())
	}
	// Tab goes back, and the count is cleared.
	d.send(tea.KeyMsg{Type: tea.KeyTab})
	d.shows(t, "bob: b6")
	if d.m.current != "general" || d.m.unread["general"] != 0 {
		t.Errorf("after Tab: current %q, unread %d", d.m.current, d.m.unread["general"])
	}

	// PgUp past the top brings older history.
	if strings.Contains(d.m.View(), "old 01") {
		t.Fatalf("the oldest message shows before scrolling:\n%s", d.m.View())
	}
	for i := 0; i < 40 && !strings.Contains(d.m.View(), "bob: old 01"); i++ {
		d.send(tea.KeyMsg{Type: tea.KeyPgUp})
		d.pump(100 * time.Millisecond)
	}
	d.shows(t, "bob: old 01")

	// Command output goes to the pane; /quit ends the view.
	d.typeLine("/help")
	d.shows(t, "/search WORDS")
	d.typeLine("/quit")
	d.until(t, "the end", func(string) bool { return d.m.quit })
}
