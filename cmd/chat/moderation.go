package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chatsvc/chat/client"
)

func (a *app) cmdTopic(ctx context.Context, v view, args []string, rest string) reply {
	if v.room == "" {
		return note("/topic: not in a room")
	}
	if rest == "" {
		info, err := a.api.Room(ctx, v.room)
		if err != nil {
			return failed("/topic", err)
		}
		if info.Room.Topic == "" {
			return note("%s has no topic", a.roomLabel(v.room))
		}
		return note("%s: %s", a.roomLabel(v.room), info.Room.Topic)
	}
	if rest == "-" {
		rest = ""
	}
	if _, err := a.api.SetTopic(ctx, v.room, rest); err != nil {
		return failed("/topic", err)
	}
	return reply{}
}

func (a *app) cmdMembers(ctx context.Context, v view, args []string, _ string) reply {
	if v.room == "" {
		return note("/members: not in a room")
	}
	var r reply
	after := ""
	for {
		page, err := a.api.Members(ctx, v.room, after, client.MaxMembersPage)
		if err != nil {
			return failed("/members", err)
		}
		for _, m := range page.Members {
			r.lines = append(r.lines, memberLine(m))
		}
		if page.Next == nil || len(page.Members) == 0 {
			return r
		}
		after = *page.Next
	}
}

// memberLine describes one member.
func memberLine(m client.Member) string {
	s := fmt.Sprintf("  %s %s", m.User.Username, m.Role)
	if m.State != client.StateMember {
		s += " (" + m.State + ")"
	}
	if m.MutedUntil != nil {
		s += " muted until " + *m.MutedUntil
	}
	return s
}

// moderate returns the handler of an action that takes a user and a
// reason.
func moderate(name string, do func(*client.Client, context.Context, string, string, string) error) handler {
	return func(a *app, ctx context.Context, v view, args []string, _ string) reply {
		if len(args) < 1 || v.room == "" {
			return note("usage: /%s USER [REASON] (in a room)", name)
		}
		user := strings.ToLower(strings.TrimPrefix(args[0], "@"))
		if err := do(a.api, ctx, v.room, user, strings.Join(args[1:], " ")); err != nil {
			return failed("/"+name, err)
		}
		return note("%s: done", name)
	}
}

func (a *app) cmdMute(ctx context.Context, v view, args []string, _ string) reply {
	if len(args) < 2 || v.room == "" {
		return note("usage: /mute USER DURATION [REASON] (in a room; DURATION like 10m or 2h)")
	}
	d, err := time.ParseDuration(args[1])
	if err != nil || d <= 0 {
		return note("/mute: %q is not a duration like 10m or 2h", args[1])
	}
	user := strings.ToLower(strings.TrimPrefix(args[0], "@"))
	if err := a.api.Mute(ctx, v.room, user, d, strings.Join(args[2:], " ")); err != nil {
		return failed("/mute", err)
	}
	return note("mute: done")
}

func (a *app) cmdRole(ctx context.Context, v view, args []string, _ string) reply {
	if len(args) != 2 || v.room == "" {
		return note("usage: /role USER owner|admin|member (in a room)")
	}
	user := strings.ToLower(strings.TrimPrefix(args[0], "@"))
	if err := a.api.SetRole(ctx, v.room, user, args[1]); err != nil {
		return failed("/role", err)
	}
	return note("role: done")
}

func (a *app) cmdDeleteRoom(ctx context.Context, v view, args []string, _ string) reply {
	room, err := roomArg("/delete-room", args)
	if err != nil {
		return note("%v", err)
	}
	if err := a.api.DeleteRoom(ctx, room); err != nil {
		return failed("/delete-room", err)
	}
	return note("deleted %s", a.roomLabel(room))
}
