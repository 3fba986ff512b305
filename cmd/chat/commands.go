package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

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
  /join ROOM     join ROOM (created when new) and make it the current room
  /leave [ROOM]  leave ROOM (default: the current room)
  /rooms         list every room
  /history [N]   show the last N messages of the current room (default 20)
  /quit          leave once every line is acknowledged
  //text         send "/text"
any other line is sent to the current room`

// runChat is the interactive client, the default command.
func runChat(ctx context.Context, name string, args []string, env environment) error {
	fs := env.newFlagSet(name)
	serverFlag := fs.String("url", "", "server URL (else CHAT_URL, else the one logged in to)")
	roomFlag := fs.String("room", chat.DefaultRoom, "room to join first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see chat help)", fs.Arg(0))
	}
	room, err := chat.NormalizeRoom(*roomFlag)
	if err != nil {
		return fmt.Errorf("-room: %s", chat.ErrorMessage(err))
	}
	path, err := sessionPath(env.getenv)
	if err != nil {
		return err
	}
	sess, err := loadSession(path)
	if err != nil {
		return err
	}
	api, err := newAPIClient(env.serverURL(*serverFlag, sess.URL))
	if err != nil {
		return err
	}
	c := newClient(api, newTokenSource(api, path, sess, time.Now()), env.stdout, env.stderr, room)
	done := make(chan struct{})
	defer close(done)
	err = c.loop(ctx, readLines(env.stdin, done))
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// readsServer reports whether line is a command that shows server state,
// which waits until the lines typed before it are acknowledged.
func readsServer(line string) bool {
	f := strings.Fields(line)
	return len(f) > 0 && (f[0] == "/rooms" || f[0] == "/history")
}

// handleLine sends a typed line to the current room or carries out a
// command.
func (c *client) handleLine(ctx context.Context, line string) error {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	if strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "//") {
		return c.command(ctx, line)
	}
	line = strings.TrimPrefix(line, "/")
	if c.current == "" {
		c.status("not in a room: /join ROOM first")
		return nil
	}
	if err := chat.ValidateText(line, math.MaxInt); err != nil {
		c.status("not sent: %s", chat.ErrorMessage(err))
		return nil
	}
	c.pending = append(c.pending, &pendingLine{ref: newRef(), room: c.current, text: line})
	return nil
}

// command carries out one slash command.
func (c *client) command(ctx context.Context, line string) error {
	fields := strings.Fields(line)
	name, args := fields[0], fields[1:]
	switch name {
	case "/join":
		if len(args) != 1 {
			c.status("usage: /join ROOM")
			return nil
		}
		room, err := chat.NormalizeRoom(strings.TrimPrefix(args[0], "#"))
		if err != nil {
			c.status("/join: %s", chat.ErrorMessage(err))
			return nil
		}
		if r := c.rooms[room]; r != nil && !r.leaving {
			c.status("now in #%s", room)
		}
		c.addRoom(room)
	case "/leave":
		room := c.current
		if len(args) > 1 {
			c.status("usage: /leave [ROOM]")
			return nil
		}
		if len(args) == 1 {
			room = strings.ToLower(strings.TrimPrefix(args[0], "#"))
		}
		r := c.rooms[room]
		if room == "" || r == nil || r.leaving {
			c.status("/leave: not in #%s", room)
			return nil
		}
		r.leaving = true
		if c.current == room {
			c.current = c.fallbackRoom()
		}
		if c.current != "" {
			c.status("left #%s; now in #%s", room, c.current)
		} else {
			c.status("left #%s; /join a room to chat", room)
		}
	case "/rooms":
		return c.listRooms(ctx)
	case "/history":
		n := defaultHistory
		if len(args) > 1 {
			c.status("usage: /history [N]")
			return nil
		}
		if len(args) == 1 {
			v, err := strconv.Atoi(args[0])
			if err != nil || v < 1 || v > maxHistory {
				c.status("/history: N must be a number from 1 to %d", maxHistory)
				return nil
			}
			n = v
		}
		return c.showHistory(ctx, n)
	case "/quit":
		c.quit()
	case "/help":
		c.status("%s", commandHelp)
	default:
		c.status("unknown command %s (/help lists them)", name)
	}
	return nil
}

// listRooms prints every room: name, message count, and whether the
// client is in it.
func (c *client) listRooms(ctx context.Context) error {
	after := ""
	for {
		var page roomsPage
		err := c.tokens.withToken(ctx, func(token string) error {
			var err error
			page, err = c.api.rooms(ctx, token, after, maxRoomsPage)
			return err
		})
		if err != nil {
			return c.restFailed("/rooms", err)
		}
		for _, r := range page.Rooms {
			mark := ""
			if s := c.rooms[r.Name]; s != nil && !s.leaving {
				mark = " (joined)"
				if r.Name == c.current {
					mark = " (joined, current)"
				}
			}
			unit := "messages"
			if r.LastSeq == 1 {
				unit = "message"
			}
			fmt.Fprintf(c.out, "#%s %d %s%s\n", r.Name, r.LastSeq, unit, mark)
		}
		if page.Next == nil || len(page.Rooms) == 0 {
			return nil
		}
		after = *page.Next
	}
}

// showHistory prints the last n messages of the current room.
func (c *client) showHistory(ctx context.Context, n int) error {
	if c.current == "" {
		c.status("/history: not in a room")
		return nil
	}
	msgs, err := c.history(ctx, c.current, 0, 0, n)
	if err != nil {
		return c.restFailed("/history", err)
	}
	if len(msgs) == 0 {
		c.status("#%s has no messages yet", c.current)
	}
	for _, m := range msgs {
		c.printMessage(m)
	}
	return nil
}

// restFailed reports a failed REST command on stderr and returns err only
// when it ends the client (the session's end).
func (c *client) restFailed(cmd string, err error) error {
	if errors.Is(err, errSessionEnded) {
		return err
	}
	c.status("%s: %v", cmd, err)
	return nil
}

// history returns, oldest first, at most n of the newest messages of room
// with after < seq < before (before 0: no upper bound), paged over REST.
func (c *client) history(ctx context.Context, room string, before, after int64, n int) ([]chat.MessageJSON, error) {
	var pages [][]chat.MessageJSON
	total := 0
	for total < n && (before == 0 || before-1 > after) {
		limit := min(n-total, maxMessagesPage)
		if before > 0 {
			limit = int(min(int64(limit), before-1-after))
		}
		var page messagesPage
		err := c.tokens.withToken(ctx, func(token string) error {
			var err error
			page, err = c.api.messages(ctx, token, room, before, limit)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("history of #%s: %w", room, err)
		}
		var keep []chat.MessageJSON
		for _, m := range page.Messages {
			if m.Seq > after && (before == 0 || m.Seq < before) {
				keep = append(keep, m)
			}
		}
		if len(keep) == 0 {
			break
		}
		pages = append(pages, keep)
		total += len(keep)
		before = keep[0].Seq
		if !page.HasMore {
			break
		}
	}
	slices.Reverse(pages)
	out := make([]chat.MessageJSON, 0, total)
	for _, p := range pages {
		out = append(out, p...)
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}
