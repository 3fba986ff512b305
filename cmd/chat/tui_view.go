package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/chatsvc/chat/client"
)

// Sizes of the full-screen view.
const (
	// sidebarWidth is the width of the room list; below minWidthForSidebar
	// columns the list is hidden.
	sidebarWidth       = 26
	minWidthForSidebar = 60
)

// Styles of the full-screen view.
var (
	dimStyle     = lipgloss.NewStyle().Faint(true)
	ownStyle     = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("6"))
	nameStyle    = lipgloss.NewStyle().Bold(true)
	eventStyle   = lipgloss.NewStyle().Faint(true).Italic(true)
	titleStyle   = lipgloss.NewStyle().Bold(true).Reverse(true)
	currentStyle = lipgloss.NewStyle().Bold(true).Reverse(true)
	unreadStyle  = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("3"))
	onlineStyle  = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	offlineStyle = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	sideStyle    = lipgloss.NewStyle().Width(sidebarWidth).BorderStyle(lipgloss.NormalBorder()).BorderRight(true)
)

// paneSize returns the size of the message pane.
func (m *tuiModel) paneSize() (int, int) {
	w, h := m.width, m.height-3
	if m.width >= minWidthForSidebar {
		w -= sidebarWidth + 1
	}
	return max(w, 10), max(h, 1)
}

// refresh renders the current room into the pane; follow keeps it
// scrolled to the newest line when it was there.
func (m *tuiModel) refresh(follow bool) {
	w, h := m.paneSize()
	atBottom := m.pane.AtBottom()
	m.pane.Width, m.pane.Height = w, h
	m.input.Width = max(m.width-4, 10)
	var b strings.Builder
	if r := m.rooms[m.current]; r != nil {
		for i, e := range r.entries {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(lipgloss.NewStyle().Width(w).Render(renderEntry(e)))
		}
	}
	m.pane.SetContent(b.String())
	if follow || atBottom {
		m.pane.GotoBottom()
	}
}

// renderEntry renders one line of a pane.
func renderEntry(e entry) string {
	switch e.kind {
	case entryEvent:
		return eventStyle.Render("  * " + printable(e.text))
	case entryNote:
		return dimStyle.Render("  " + printable(e.text))
	}
	head := dimStyle.Render(clock(e.ts) + fmt.Sprintf(" #%d ", e.seq))
	name := nameStyle.Render(e.from)
	if e.own {
		name = ownStyle.Render("› " + e.from)
	}
	text := printable(e.text)
	switch {
	case e.deleted:
		text = eventStyle.Render("(message deleted)")
	case e.edited:
		text += dimStyle.Render(" (edited)")
	}
	return head + name + ": " + text
}

// clock shows a time of the service as the local hour and minute.
func clock(ts string) string {
	t, err := time.Parse(client.TimeLayout, ts)
	if err != nil {
		return "--:--"
	}
	return t.Local().Format("15:04")
}

// View renders the screen.
func (m *tuiModel) View() string {
	if m.quit {
		return ""
	}
	main := lipgloss.JoinVertical(lipgloss.Left, m.title(), m.pane.View())
	if m.width >= minWidthForSidebar {
		main = lipgloss.JoinHorizontal(lipgloss.Top, m.sidebar(), main)
	}
	return lipgloss.JoinVertical(lipgloss.Left, main, m.statusBar(), m.input.View())
}

// title is the line above the pane: the room and its topic.
func (m *tuiModel) title() string {
	w, _ := m.paneSize()
	if m.current == "" {
		return titleStyle.Width(w).Render(" no room: /join ROOM")
	}
	s := " " + m.label(m.current)
	if r := m.rooms[m.current]; r != nil && r.topic != "" {
		s += " — " + printable(r.topic)
	}
	return titleStyle.Width(w).MaxHeight(1).Render(s)
}

// label names a room as the list shows it, else as app.roomLabel does
// (which made the list's labels too).
func (m *tuiModel) label(room string) string {
	for _, e := range m.list {
		if e.name == room {
			return e.label
		}
	}
	return m.a.roomLabel(room)
}

// sidebar is the room list with unread counts.
func (m *tuiModel) sidebar() string {
	_, h := m.paneSize()
	kinds := map[string]string{}
	for _, e := range m.list {
		kinds[e.name] = e.kind
		if e.state == client.StateInvited {
			kinds[e.name] = "invited"
		}
	}
	lines := []string{nameStyle.Render("Rooms")}
	for _, n := range m.roomNames() {
		label := m.label(n)
		switch kinds[n] {
		case client.KindPrivate:
			label += dimStyle.Render(" private")
		case "invited":
			label += dimStyle.Render(" invited")
		}
		count := ""
		if u := m.unread[n]; u > 0 && n != m.current {
			count = unreadStyle.Render(fmt.Sprintf(" %d", u))
		}
		line := lipgloss.NewStyle().MaxWidth(sidebarWidth - 1).Render(label + count)
		if n == m.current {
			line = currentStyle.Render(line)
		}
		lines = append(lines, line)
	}
	return sideStyle.Height(h + 1).MaxHeight(h + 1).Render(strings.Join(lines, "\n"))
}

// statusBar shows the connection, what is being sent, who types, and the
// latest notice.
func (m *tuiModel) statusBar() string {
	dot := offlineStyle.Render("●")
	if m.online {
		dot = onlineStyle.Render("●")
	}
	parts := []string{dot + " " + m.state}
	if m.sending > 0 {
		parts = append(parts, fmt.Sprintf("sending %d…", m.sending))
	}
	if t, ok := m.typing[m.current]; ok && time.Since(t.at) < typingShown && t.user != m.me {
		parts = append(parts, t.user+" is typing…")
	}
	if m.notice != "" {
		parts = append(parts, m.notice)
	}
	return lipgloss.NewStyle().MaxWidth(max(m.width, 20)).Render(dimStyle.Render(strings.Join(parts, " │ ")))
}
