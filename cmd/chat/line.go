package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chatsvc/chat/client"
)

// drainTimeout is how long line mode waits, once stdin has ended, for the
// server to answer more of the lines still queued.
const drainTimeout = 10 * time.Second

// lineRoom is what line mode knows of a room it is in.
type lineRoom struct {
	shown     int64 // newest seq printed
	lastOwn   int64 // seq of the user's newest message
	acked     int64 // newest seq of the user's own commands, acked
	announced bool  // its first joined was reported
	paging    bool  // inside a run of messages fetched over REST
}

// sendDone is the answer to one send, edit or delete.
type sendDone struct {
	res  client.Result
	what string
}

// lineMode is the chat for scripts and plain terminals: each input line
// is a message for the current room or a command; messages go to stdout
// as "[room] user: text", status and errors to stderr.
type lineMode struct {
	a         *app
	out, errw io.Writer
	rooms     map[string]*lineRoom
	order     []string // rooms by when they were joined
	current   string
	connected bool // a welcome arrived at least once
	inbox     []string
	pending   int // commands sent, not answered
	failed    int // lines or commands refused
	unsure    int // commands whose outcome is unknown
	results   chan sendDone
	eof       bool
	drainBy   time.Time
}

// runLines runs line mode until stdin ends and every line is answered,
// /quit, ctx ends, or the socket stops for good.
func runLines(ctx context.Context, a *app, env environment, room string) error {
	m := &lineMode{a: a, out: env.stdout, errw: env.stderr, rooms: map[string]*lineRoom{}, results: make(chan sendDone, 64)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sock := runSocket(ctx, a.sock)
	done := make(chan struct{})
	defer close(done)
	m.join(ctx, room, -1)
	err := m.loop(ctx, readLines(env.stdin, done), sock)
	cancel()
	<-sock.done
	return err
}

// socketRun is a socket's Run in the background: done closes when it
// returns, and err is then what it returned.
type socketRun struct {
	done chan struct{}
	err  error
}

// runSocket runs s until ctx ends.
func runSocket(ctx context.Context, s *client.Socket) *socketRun {
	r := &socketRun{done: make(chan struct{})}
	go func() {
		r.err = s.Run(ctx)
		close(r.done)
	}()
	return r
}

// loop is the body of runLines.
func (m *lineMode) loop(ctx context.Context, lines <-chan string, sock *socketRun) error {
	events := m.a.sock.Events()
	for {
		if err := m.runInbox(ctx); err != nil {
			return err
		}
		if m.eof && m.drained() {
			return m.exitError()
		}
		wake := time.Hour
		if m.eof {
			if time.Now().After(m.drainBy) {
				return fmt.Errorf("gave up: the server did not acknowledge %d line(s)", m.pending+len(m.inbox))
			}
			wake = time.Until(m.drainBy) + time.Millisecond
		}
		timer := time.NewTimer(wake)
		select {
		case <-ctx.Done():
			if m.pending > 0 {
				m.status("stopped with %d line(s) not acknowledged", m.pending)
			}
			timer.Stop()
			return nil
		case line, ok := <-lines:
			if !ok || line == "/quit" {
				lines = nil
				m.quit()
			} else {
				m.inbox = append(m.inbox, line)
			}
		case ev, ok := <-events:
			if !ok {
				events = nil
			} else {
				m.handle(ev)
			}
		case d := <-m.results:
			m.answered(d)
		case <-sock.done:
			timer.Stop()
			err := stopError(ctx, sock.err)
			if errors.Is(err, errStopped) {
				m.status("the server ended the connection")
				if m.pending > 0 {
					return fmt.Errorf("the server ended the connection with %d line(s) not acknowledged", m.pending)
				}
			}
			return err
		case <-timer.C:
		}
		timer.Stop()
	}
}

// quit starts the end: the loop returns once the queued lines are
// answered and shown, or after drainTimeout without progress.
func (m *lineMode) quit() {
	if !m.eof {
		m.eof = true
		m.drainBy = time.Now().Add(drainTimeout)
	}
}

// drained reports whether every line is answered and every acked one of
// the rooms still joined has come back and been printed.
func (m *lineMode) drained() bool {
	if m.pending > 0 || len(m.inbox) > 0 {
		return false
	}
	for _, r := range m.rooms {
		if r.acked > 0 && r.shown < r.acked {
			return false
		}
	}
	return true
}

// runInbox carries out the input lines in order; a command waits until
// the lines before it are answered, so a script sees its own lines.
func (m *lineMode) runInbox(ctx context.Context) error {
	for len(m.inbox) > 0 {
		line := m.inbox[0]
		if m.pending > 0 && strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "//") {
			return nil
		}
		m.inbox = m.inbox[1:]
		v := view{room: m.current}
		if r := m.rooms[m.current]; r != nil {
			v.lastOwn = r.lastOwn
		}
		if err := m.apply(ctx, m.a.exec(ctx, v, line)); err != nil {
			return err
		}
	}
	return nil
}

// apply shows and carries out what a command did.
func (m *lineMode) apply(ctx context.Context, r reply) error {
	for _, l := range r.lines {
		fmt.Fprintln(m.out, l)
	}
	for _, n := range r.notes {
		m.status("%s", n)
	}
	if r.notes != nil && strings.HasPrefix(r.notes[0], "not sent") {
		m.failed++
	}
	if r.join != "" {
		m.join(ctx, r.join, r.since)
	}
	if r.leave != "" {
		m.leave(r.leave)
	}
	if r.pending != nil {
		m.pending++
		go func() { m.results <- sendDone{<-r.pending, r.what} }()
	}
	if r.quit {
		m.quit()
	}
	return r.err
}

// join joins room (once) and makes it current. A direct room is first
// named after its other member, so that every line about it says who.
func (m *lineMode) join(ctx context.Context, room string, since int64) {
	if m.rooms[room] != nil {
		m.status("now in %s", m.label(room))
	} else {
		if isDirect(room) {
			m.a.learnDirect(ctx, room)
		}
		m.rooms[room] = &lineRoom{shown: since}
		m.order = append(m.order, room)
		m.a.sock.Join(room, since)
	}
	m.current = room
}

// leave leaves room on the socket and picks another current room.
func (m *lineMode) leave(room string) {
	if m.rooms[room] == nil {
		m.status("/leave: not in %s", m.label(room))
		return
	}
	m.a.sock.Leave(room)
	m.forget(room)
	if m.current != "" {
		m.status("left %s; now in %s", m.label(room), m.label(m.current))
	} else {
		m.status("left %s; /join a room to chat", m.label(room))
	}
}

// removed drops a room the user was taken out of from elsewhere (a kick,
// a ban, a leave in another client, the room's deletion). When it was the
// current room, no room is current until the user picks one: a line typed
// for it must not go to another room unnoticed.
func (m *lineMode) removed(room, why string) {
	current := m.current == room
	m.forget(room)
	if current {
		m.current = ""
		m.status("%s; lines are not sent until you /join a room", why)
		return
	}
	m.status("%s", why)
}

// forget drops room; when it was current, the latest joined room left
// becomes current.
func (m *lineMode) forget(room string) {
	delete(m.rooms, room)
	for i, n := range m.order {
		if n == room {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
	if m.current == room {
		m.current = ""
		if n := len(m.order); n > 0 {
			m.current = m.order[n-1]
		}
	}
}

// answered handles the answer to a send, edit or delete.
func (m *lineMode) answered(d sendDone) {
	m.pending--
	m.drainBy = time.Now().Add(drainTimeout)
	if d.res.Err != nil {
		if errors.Is(d.res.Err, client.ErrOutcomeUnknown) {
			m.unsure++
		} else {
			m.failed++
		}
		m.status("%s", resultNote(d))
		return
	}
	if r := m.rooms[d.res.Ack.Room]; r != nil {
		r.acked = max(r.acked, d.res.Ack.Seq)
	}
}

// exitError is how line mode ends once everything is answered: nil when
// every line and command went through, else how many did not and how many
// the server may or may not have stored.
func (m *lineMode) exitError() error {
	var parts []string
	if m.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d line(s) not sent", m.failed))
	}
	if m.unsure > 0 {
		parts = append(parts, fmt.Sprintf("%d line(s) not confirmed (the server may have stored them)", m.unsure))
	}
	if parts == nil {
		return nil
	}
	return errors.New(strings.Join(parts, "; "))
}

// status writes one status line to stderr.
func (m *lineMode) status(format string, args ...any) {
	fmt.Fprintf(m.errw, format+"\n", args...)
}
