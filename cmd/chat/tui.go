package main

import (
	"context"
	"errors"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/chatsvc/chat/client"
)

// Timings of the full-screen view.
const (
	// historyOnJoin is how many messages a room shows when first opened.
	historyOnJoin = 50
	// listEvery is how often the room list is read again from the server.
	listEvery = 15 * time.Second
	// typingShown is how long "… is typing" stays up; typingEvery bounds
	// how often the user's own typing is told to the room.
	typingShown = 5 * time.Second
	typingEvery = 3 * time.Second
	// tickEvery drives the clock of the view (typing, list refresh).
	tickEvery = time.Second
)

// Messages of the view.
type (
	eventMsg   struct{ ev client.Event }
	closedMsg  struct{} // the socket's events ended
	replyMsg   struct{ r reply }
	historyMsg struct {
		room  string
		msgs  []client.Message
		err   error
		older bool // asked for by scrolling past the top
	}
	roomsMsg struct {
		rooms []roomEntry
		err   error
	}
	resultMsg struct{ d sendDone }
	tickMsg   time.Time
)

// typingNote is who typed last in a room, and when.
type typingNote struct {
	user string
	at   time.Time
}

// tuiModel is the full-screen chat.
type tuiModel struct {
	ctx     context.Context
	a       *app
	width   int
	height  int
	input   textinput.Model
	pane    viewport.Model
	me      string
	state   string // the connection, in words
	online  bool
	current string
	rooms   map[string]*roomView
	list    []roomEntry    // the user's rooms as the server lists them
	unread  map[string]int // unread counts by room
	typing  map[string]typingNote
	notice  string
	sending int
	lastTyp time.Time
	listAt  time.Time
	err     error // ends the chat
	quit    bool
}

// newTUI returns the view of a, starting in room.
func newTUI(ctx context.Context, a *app, room string) *tuiModel {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "message, or /help"
	in.CharLimit = 0
	in.Focus()
	m := &tuiModel{
		ctx: ctx, a: a, input: in, pane: viewport.New(80, 20), state: "connecting…",
		notice: "/help lists the commands · Tab: next room · PgUp: older · Esc: quit",
		rooms:  map[string]*roomView{}, unread: map[string]int{}, typing: map[string]typingNote{},
	}
	m.open(room)
	return m
}

// Init starts reading the socket, the room list and the clock.
func (m *tuiModel) Init() tea.Cmd {
	return tea.Batch(textinput.Blink, m.waitEvent(), m.loadRooms(), tick())
}

// waitEvent waits for the socket's next event.
func (m *tuiModel) waitEvent() tea.Cmd {
	ch := m.a.sock.Events()
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return closedMsg{}
		}
		return eventMsg{ev}
	}
}

// loadRooms reads the user's rooms.
func (m *tuiModel) loadRooms() tea.Cmd {
	m.listAt = time.Now()
	return func() tea.Msg {
		rooms, err := m.a.myRooms(m.ctx)
		return roomsMsg{rooms, err}
	}
}

// loadHistory reads the recent history of room: the newest messages, or
// with before > 0 those older than before.
func (m *tuiModel) loadHistory(room string, before int64) tea.Cmd {
	return func() tea.Msg {
		msgs, err := m.a.api.History(m.ctx, room, 0, before, historyOnJoin)
		return historyMsg{room, msgs, err, before > 0}
	}
}

func tick() tea.Cmd {
	return tea.Tick(tickEvery, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// exec runs a typed line in the background.
func (m *tuiModel) exec(line string) tea.Cmd {
	v := view{room: m.current}
	if r := m.rooms[m.current]; r != nil {
		v.lastOwn = r.lastOwn
	}
	return func() tea.Msg { return replyMsg{m.a.exec(m.ctx, v, line)} }
}

// open makes room current, joining it on the socket when new.
func (m *tuiModel) open(room string) {
	r := m.rooms[room]
	if r == nil {
		r = newRoomView()
		m.rooms[room] = r
		m.a.sock.Join(room, -1)
	}
	m.current = room
	m.unread[room] = 0
	if r.lastSeq > 0 {
		m.a.sock.MarkRead(room, r.lastSeq)
	}
	m.refresh(true)
}

// runTUI is the full-screen chat.
func runTUI(ctx context.Context, a *app, env environment, room string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sock := runSocket(ctx, a.sock)
	m := newTUI(ctx, a, room)
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx),
		tea.WithInput(env.stdin), tea.WithOutput(env.stdout))
	_, err := p.Run()
	select {
	case <-sock.done:
		if err := stopError(ctx, sock.err); err != nil && !errors.Is(err, errStopped) {
			return err
		}
	default:
	}
	cancel()
	<-sock.done
	if m.err != nil {
		return explainStop(m.err)
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	return nil
}
