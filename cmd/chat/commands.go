package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/chat"
)

// Defaults and bounds of the chat commands.
const (
	// defaultHistory is what /history shows without a count.
	defaultHistory = 20
	// maxHistory bounds the count of /history.
	maxHistory = 10000
)

// commandHelp is the answer to /help.
const commandHelp = `commands:
  /join ROOM                 join ROOM (a public room is made when new) and make it current
  /leave [ROOM]              leave ROOM for good (default: the current room)
  /rooms [all]               your rooms with kinds and unread counts (all: every room you can see)
  /history [N]               the last N messages of the current room (default 20), with seqs
  /create ROOM [private] [TOPIC]   make a room (public unless private) and join it
  /dm USER                   open the direct room with USER
  /topic [TEXT]              show or set the topic (/topic - clears it)
  /members                   who is in the current room
  /invite USER               invite USER to the current (private) room
  /kick USER [REASON]   /ban USER [REASON]   /unban USER
  /mute USER DURATION [REASON] (e.g. 10m)   /unmute USER
  /role USER owner|admin|member
  /edit SEQ|last TEXT        change one of your messages
  /delete SEQ|last           delete a message
  /search WORDS              search the rooms you can read
  /delete-room ROOM          delete a room you own
  /quit                      leave once every line is acknowledged
  //text                     send "/text"
any other line is sent to the current room`

// view is what a command needs of the mode that runs it.
type view struct {
	room    string // the current room, "" for none
	lastOwn int64  // seq of the user's newest message in room, 0 for none
}

// reply is what a command did, for the mode to show and apply.
type reply struct {
	lines []string // output for the user
	notes []string // status
	// join is a room to join and make current, since its since (< 0:
	// none); leave a room to leave on the socket.
	join  string
	since int64
	leave string
	// pending is the result of a send, edit or delete; what names it.
	pending <-chan client.Result
	what    string
	quit    bool
	err     error // ends the chat
}

// note returns a reply with one status line.
func note(format string, args ...any) reply {
	return reply{notes: []string{fmt.Sprintf(format, args...)}}
}

// failed reports a failed REST command; the session's end ends the chat.
func failed(cmd string, err error) reply {
	if isSessionEnd(err) {
		return reply{err: err}
	}
	return note("%s: %v", cmd, explainAPI(err))
}

// exec carries out one typed line: a message for the current room or a
// command.
func (a *app) exec(ctx context.Context, v view, line string) reply {
	if strings.TrimSpace(line) == "" {
		return reply{}
	}
	if !strings.HasPrefix(line, "/") || strings.HasPrefix(line, "//") {
		return a.sendLine(v, strings.TrimPrefix(line, "/"))
	}
	name, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	args := strings.Fields(rest)
	if h, ok := handlers[name]; ok {
		return h(a, ctx, v, args, rest)
	}
	switch name {
	case "/quit":
		return reply{quit: true}
	case "/help":
		return note("%s", commandHelp)
	}
	return note("unknown command %s (/help lists them)", name)
}

// handler carries out one command with its fields and the raw rest of
// the line.
type handler func(a *app, ctx context.Context, v view, args []string, rest string) reply

// handlers are the commands by name.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"/join":        (*app).cmdJoin,
		"/leave":       (*app).cmdLeave,
		"/rooms":       (*app).cmdRooms,
		"/history":     (*app).cmdHistory,
		"/create":      (*app).cmdCreate,
		"/dm":          (*app).cmdDM,
		"/topic":       (*app).cmdTopic,
		"/members":     (*app).cmdMembers,
		"/invite":      moderate("invite", (*client.Client).Invite),
		"/kick":        moderate("kick", (*client.Client).Kick),
		"/ban":         moderate("ban", (*client.Client).Ban),
		"/unban":       moderate("unban", (*client.Client).Unban),
		"/unmute":      moderate("unmute", (*client.Client).Unmute),
		"/mute":        (*app).cmdMute,
		"/role":        (*app).cmdRole,
		"/edit":        (*app).cmdEdit,
		"/delete":      (*app).cmdDelete,
		"/search":      (*app).cmdSearch,
		"/delete-room": (*app).cmdDeleteRoom,
	}
}

// sendLine queues text for the current room.
func (a *app) sendLine(v view, text string) reply {
	if v.room == "" {
		return note("not sent: not in a room (/join ROOM first)")
	}
	if err := chat.ValidateText(text, 1<<30); err != nil {
		return note("not sent: %s", chat.ErrorMessage(err))
	}
	return reply{pending: a.sock.SendAsync(v.room, text), what: fmt.Sprintf("%s: %s", a.roomLabel(v.room), text)}
}

// roomArg returns the normalized room of args[0].
func roomArg(cmd string, args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("usage: %s ROOM", cmd)
	}
	r, err := chat.NormalizeRoom(strings.TrimPrefix(args[0], "#"))
	if err != nil {
		return "", fmt.Errorf("%s: %s", cmd, chat.ErrorMessage(err))
	}
	return r, nil
}

func (a *app) cmdJoin(ctx context.Context, v view, args []string, _ string) reply {
	room, err := roomArg("/join", args)
	if err != nil {
		return note("%v", err)
	}
	return reply{join: room, since: -1}
}

func (a *app) cmdLeave(ctx context.Context, v view, args []string, _ string) reply {
	room := v.room
	if len(args) > 0 {
		r, err := roomArg("/leave", args)
		if err != nil {
			return note("%v", err)
		}
		room = r
	}
	if room == "" {
		return note("/leave: not in a room")
	}
	err := a.api.LeaveRoom(ctx, room)
	// A server without rooms v2 has no REST leave (404 not_found): leaving
	// the socket is all there is.
	if err != nil && !errors.Is(err, client.CodeNotFound) {
		return failed("/leave", err)
	}
	return reply{leave: room}
}

func (a *app) cmdHistory(ctx context.Context, v view, args []string, _ string) reply {
	n := defaultHistory
	if len(args) > 1 {
		return note("usage: /history [N]")
	}
	if len(args) == 1 {
		x, err := strconv.Atoi(args[0])
		if err != nil || x < 1 || x > maxHistory {
			return note("/history: N must be a number from 1 to %d", maxHistory)
		}
		n = x
	}
	if v.room == "" {
		return note("/history: not in a room")
	}
	msgs, err := a.api.History(ctx, v.room, 0, 0, n)
	if err != nil {
		return failed("/history", err)
	}
	if len(msgs) == 0 {
		return note("%s has no messages yet", a.roomLabel(v.room))
	}
	var r reply
	for _, m := range msgs {
		r.lines = append(r.lines, storedLine(a.roomLabel(m.Room), &m))
	}
	return r
}

func (a *app) cmdCreate(ctx context.Context, v view, args []string, _ string) reply {
	if len(args) < 1 {
		return note("usage: /create ROOM [private] [TOPIC]")
	}
	room, err := roomArg("/create", args[:1])
	if err != nil {
		return note("%v", err)
	}
	kind, topic := client.KindPublic, args[1:]
	if len(topic) > 0 && (topic[0] == client.KindPrivate || topic[0] == client.KindPublic) {
		kind, topic = topic[0], topic[1:]
	}
	if _, err := a.api.CreateRoom(ctx, room, kind, strings.Join(topic, " ")); err != nil {
		return failed("/create", err)
	}
	r := reply{join: room, since: 0}
	r.notes = []string{fmt.Sprintf("created the %s room #%s", kind, room)}
	return r
}

func (a *app) cmdDM(ctx context.Context, v view, args []string, _ string) reply {
	if len(args) != 1 {
		return note("usage: /dm USER")
	}
	user := strings.ToLower(strings.TrimPrefix(args[0], "@"))
	room, err := a.api.DM(ctx, user)
	if err != nil {
		return failed("/dm", err)
	}
	a.setDMName(room.Name, user)
	return reply{join: room.Name, since: max(room.LastSeq-defaultHistory, 0)}
}

// seqArg reads SEQ or "last" (the user's newest message in the room).
func seqArg(v view, s string) (int64, error) {
	if s == "last" {
		if v.lastOwn == 0 {
			return 0, errors.New("no message of yours in this room yet")
		}
		return v.lastOwn, nil
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a seq (a number, or last)", s)
	}
	return n, nil
}

func (a *app) cmdEdit(ctx context.Context, v view, args []string, rest string) reply {
	if len(args) < 2 || v.room == "" {
		return note("usage: /edit SEQ|last TEXT (in a room)")
	}
	seq, err := seqArg(v, args[0])
	if err != nil {
		return note("/edit: %v", err)
	}
	text := strings.TrimSpace(strings.TrimPrefix(rest, args[0]))
	return reply{pending: a.sock.EditAsync(v.room, seq, text), what: fmt.Sprintf("edit of %s %d", a.roomLabel(v.room), seq)}
}

func (a *app) cmdDelete(ctx context.Context, v view, args []string, _ string) reply {
	if len(args) != 1 || v.room == "" {
		return note("usage: /delete SEQ|last (in a room)")
	}
	seq, err := seqArg(v, args[0])
	if err != nil {
		return note("/delete: %v", err)
	}
	return reply{pending: a.sock.DeleteAsync(v.room, seq), what: fmt.Sprintf("deletion of %s %d", a.roomLabel(v.room), seq)}
}

func (a *app) cmdSearch(ctx context.Context, v view, args []string, rest string) reply {
	if rest == "" {
		return note("usage: /search WORDS")
	}
	page, err := a.api.Search(ctx, client.SearchQuery{Q: rest})
	if err != nil {
		return failed("/search", err)
	}
	if len(page.Results) == 0 {
		return note("nothing found for %q", rest)
	}
	var r reply
	for _, m := range page.Results {
		if isDirect(m.Room) {
			a.learnDirect(ctx, m.Room)
		}
		r.lines = append(r.lines, fmt.Sprintf("%s %s", m.TS, storedLine(a.roomLabel(m.Room), &m)))
	}
	return r
}
