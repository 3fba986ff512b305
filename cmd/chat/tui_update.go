package main

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/chatsvc/chat/client"
)

// Update handles one message.
func (m *tuiModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.refresh(false)
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	case eventMsg:
		cmd := m.event(msg.ev)
		return m, tea.Batch(cmd, m.waitEvent())
	case closedMsg:
		m.quit = true
		return m, tea.Quit
	case replyMsg:
		return m, m.apply(msg.r)
	case resultMsg:
		m.sending--
		if msg.d.res.Err != nil {
			m.note(resultNote(msg.d))
		}
		return m, nil
	case historyMsg:
		m.history(msg)
		return m, nil
	case roomsMsg:
		if msg.err == nil {
			m.setList(msg.rooms)
		}
		return m, nil
	case tickMsg:
		if time.Since(m.listAt) >= listEvery {
			return m, tea.Batch(tick(), m.loadRooms())
		}
		return m, tick()
	}
	return m, nil
}

// key handles a key press.
func (m *tuiModel) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch k.Type {
	case tea.KeyCtrlC, tea.KeyEsc:
		m.quit = true
		return m, tea.Quit
	case tea.KeyEnter:
		line := m.input.Value()
		m.input.SetValue("")
		if strings.TrimSpace(line) == "" {
			return m, nil
		}
		return m, m.exec(line)
	case tea.KeyTab, tea.KeyCtrlN:
		m.cycle(1)
		return m, nil
	case tea.KeyShiftTab, tea.KeyCtrlP:
		m.cycle(-1)
		return m, nil
	case tea.KeyPgUp, tea.KeyPgDown:
		var cmd tea.Cmd
		if r := m.rooms[m.current]; k.Type == tea.KeyPgUp && m.pane.AtTop() && r != nil && !r.loadingOlder && !r.allLoaded && r.firstSeq() > 1 {
			r.loadingOlder = true
			cmd = m.loadHistory(m.current, r.firstSeq())
		}
		var scroll tea.Cmd
		m.pane, scroll = m.pane.Update(k)
		return m, tea.Batch(cmd, scroll)
	case tea.KeyUp:
		// Up on an empty line starts an edit of the user's last message.
		if r := m.rooms[m.current]; r != nil && m.input.Value() == "" && r.lastOwn > 0 {
			m.input.SetValue(fmt.Sprintf("/edit %d %s", r.lastOwn, r.ownText()))
			m.input.CursorEnd()
		}
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	if v := m.input.Value(); v != "" && !strings.HasPrefix(v, "/") && time.Since(m.lastTyp) > typingEvery {
		m.lastTyp = time.Now()
		m.a.sock.Typing(m.current)
	}
	return m, cmd
}

// history shows history that arrived: the recent messages of a room just
// joined, or older ones asked for by scrolling up.
func (m *tuiModel) history(msg historyMsg) {
	r := m.rooms[msg.room]
	if r == nil {
		return
	}
	r.loadingOlder = false
	if msg.err != nil {
		m.notice = fmt.Sprintf("history of %s: %v", m.label(msg.room), msg.err)
		return
	}
	r.allLoaded = r.allLoaded || len(msg.msgs) < historyOnJoin
	r.prepend(msg.msgs, m.me)
	if msg.room != m.current {
		return
	}
	if msg.older {
		m.refresh(false)
		m.pane.GotoTop()
		return
	}
	m.markRead(msg.room)
	m.refresh(true)
}

// cycle makes the next (or previous) room of the list current.
func (m *tuiModel) cycle(step int) {
	names := m.roomNames()
	if len(names) == 0 {
		return
	}
	i := 0
	for j, n := range names {
		if n == m.current {
			i = j
		}
	}
	m.open(names[(i+step+len(names))%len(names)])
}

// apply shows and carries out what a command did.
func (m *tuiModel) apply(r reply) tea.Cmd {
	if r.err != nil {
		m.err = r.err
		return tea.Quit
	}
	if r.quit {
		m.quit = true
		return tea.Quit
	}
	for _, l := range r.lines {
		m.addNote(l)
	}
	for _, n := range r.notes {
		for _, l := range strings.Split(n, "\n") {
			m.addNote(l)
		}
	}
	var cmds []tea.Cmd
	if r.join != "" {
		m.open(r.join)
		cmds = append(cmds, m.loadRooms())
	}
	if r.leave != "" {
		m.a.sock.Leave(r.leave)
		m.drop(r.leave, "left "+m.label(r.leave))
		cmds = append(cmds, m.loadRooms())
	}
	if r.pending != nil {
		m.sending++
		ch, what := r.pending, r.what
		cmds = append(cmds, func() tea.Msg { return resultMsg{sendDone{<-ch, what}} })
	}
	return tea.Batch(cmds...)
}

// drop forgets a room the user is out of and moves to another one.
func (m *tuiModel) drop(room, why string) {
	delete(m.rooms, room)
	m.notice = why
	if m.current != room {
		return
	}
	m.current = ""
	for _, n := range m.roomNames() {
		if m.rooms[n] != nil {
			m.current = n
			break
		}
	}
	m.refresh(true)
}

// addNote adds a line of command output to the current room's pane.
func (m *tuiModel) addNote(text string) {
	r := m.rooms[m.current]
	if r == nil {
		m.notice = text
		return
	}
	r.add(entry{kind: entryNote, text: text})
	m.refresh(true)
}

// note shows a notice in the status bar.
func (m *tuiModel) note(text string) { m.notice = text }

// markRead moves the read marker of the current room to what it shows.
func (m *tuiModel) markRead(room string) {
	if r := m.rooms[room]; r != nil && room == m.current && r.lastSeq > 0 {
		m.a.sock.MarkRead(room, r.lastSeq)
	}
}

// setList takes the room list the server sent; rooms joined here that
// it does not list yet stay.
func (m *tuiModel) setList(rooms []roomEntry) {
	m.list = rooms
	for _, e := range rooms {
		if e.name != m.current {
			m.unread[e.name] = e.unread
		}
	}
}

// roomNames returns the rooms of the sidebar: the server's list, then
// rooms joined here that it lacks.
func (m *tuiModel) roomNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, e := range m.list {
		names = append(names, e.name)
		seen[e.name] = true
	}
	for n := range m.rooms {
		if !seen[n] {
			names = append(names, n)
		}
	}
	return names
}

// event handles one event of the socket.
func (m *tuiModel) event(ev client.Event) tea.Cmd {
	switch e := ev.(type) {
	case *client.StateChange:
		m.connection(e)
	case *client.Joined:
		if e.Room == m.current {
			m.notice = fmt.Sprintf("%d here: %s", len(e.Members), strings.Join(e.Members, ", "))
		}
		if r := m.rooms[e.Room]; r != nil && !r.historyAsked {
			r.joined, r.historyAsked = true, true
			return m.loadHistory(e.Room, 0)
		}
	case client.StreamEvent:
		m.stream(e)
	case *client.Typing:
		m.typing[e.Room] = typingNote{e.From, time.Now()}
	case *client.Presence:
		if e.Room == m.current && e.User != m.me {
			verb := "joined"
			if e.Event == "leave" {
				verb = "left"
			}
			m.notice = fmt.Sprintf("%s %s %s", e.User, verb, m.label(e.Room))
		}
	case *client.Left:
		if s := leftLine(m.label(e.Room), e); s != "" {
			m.drop(e.Room, s)
			return m.loadRooms()
		}
	case *client.Invited:
		m.notice = fmt.Sprintf("%s invited you to %s: /join %s", e.By, m.label(e.Room), e.Room)
		return m.loadRooms()
	case *client.Read:
		return m.read(e)
	case *client.FrameError:
		m.notice = errorText(m.label(e.Room), e)
		if e.Room != "" && joinRefusal(e.Code) {
			m.drop(e.Room, "cannot join: "+m.notice)
		}
	}
	return nil
}

// connection shows the state of the socket.
func (m *tuiModel) connection(e *client.StateChange) {
	m.online = e.State == client.Connected
	switch e.State {
	case client.Connected:
		m.me = e.User
		m.state = "connected as " + e.User
	case client.Connecting:
		m.state = "connecting…"
	case client.Disconnected:
		m.state = "offline: " + stateLine(e, m.a.api.URL(), true)
	}
}

// stream shows a stream event of a room.
func (m *tuiModel) stream(ev client.StreamEvent) {
	room, seq := ev.Position()
	r := m.rooms[room]
	if r == nil {
		return
	}
	switch e := ev.(type) {
	case *client.Message:
		en := messageEntry(e, m.me)
		r.add(en)
		if en.own {
			r.lastOwn = max(r.lastOwn, seq)
		} else if room != m.current && !e.Deleted {
			m.unread[room]++
		}
		delete(m.typing, room)
	case *client.Edit:
		if t := r.target(e.Target); t != nil {
			t.text, t.edited = e.Text, true
		}
		r.lastSeq = max(r.lastSeq, seq)
	case *client.Delete:
		if t := r.target(e.Target); t != nil {
			t.text, t.deleted = "", true
		}
		r.lastSeq = max(r.lastSeq, seq)
	default:
		r.add(entry{kind: entryEvent, seq: seq, text: strings.TrimPrefix(eventText(ev), "* ")})
		if te, ok := ev.(*client.RoomEvent); ok {
			r.topic = te.Topic
		}
	}
	m.markRead(room)
	if room == m.current {
		m.refresh(true)
	}
}
