package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/chat"
)

// roomEntry is one row of the room list.
type roomEntry struct {
	name    string // the room's name
	label   string // what to show: #name, or @user for a direct room
	kind    string
	unread  int
	lastSeq int64
	state   string // member or invited; "" when unknown (a v1 server)
}

// myRooms returns the user's rooms, the most recently active first, with
// unread counts. A server without rooms v2 (no /me/rooms) gets every room
// it lists instead, without counts.
func (a *app) myRooms(ctx context.Context) ([]roomEntry, error) {
	mine, err := a.api.MyRooms(ctx)
	if errors.Is(err, client.CodeNotFound) {
		return a.allRooms(ctx)
	}
	if err != nil {
		return nil, err
	}
	var out []roomEntry
	for _, m := range mine {
		out = append(out, roomEntry{
			name: m.Room.Name, label: a.label(ctx, m.Room), kind: m.Room.Kind,
			unread: m.Unread, lastSeq: m.Room.LastSeq, state: m.State,
		})
	}
	return out, nil
}

// allRooms returns every room the user can see, by name.
func (a *app) allRooms(ctx context.Context) ([]roomEntry, error) {
	var out []roomEntry
	after := ""
	for {
		page, err := a.api.Rooms(ctx, after, client.MaxRoomsPage)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Rooms {
			out = append(out, roomEntry{name: r.Name, label: a.label(ctx, r), kind: r.Kind, lastSeq: r.LastSeq})
		}
		if page.Next == nil || len(page.Rooms) == 0 {
			return out, nil
		}
		after = *page.Next
	}
}

// roomLabel names a room for a person, as both modes show it everywhere:
// @user for a direct room whose other member is known, #name otherwise.
// Direct rooms get known by /dm, by the room list and by learnDirect.
func (a *app) roomLabel(room string) string {
	if u, ok := a.dmName(room); ok {
		return "@" + u
	}
	return "#" + room
}

// label names a room of a list, finding out first who the other member of
// a direct room is.
func (a *app) label(ctx context.Context, r client.Room) string {
	if r.Kind == client.KindDirect {
		a.learnDirect(ctx, r.Name)
	}
	return a.roomLabel(r.Name)
}

// isDirect reports whether room is the name of a direct room: the contract
// keeps names starting with dm- for them.
func isDirect(room string) bool { return strings.HasPrefix(room, chat.DMPrefix) }

// learnDirect finds out, once, who the other member of the direct room is,
// so that roomLabel names the room after them. When that cannot be asked
// (the room is not the user's, the server is away) the room keeps its name.
func (a *app) learnDirect(ctx context.Context, room string) {
	if _, ok := a.dmName(room); ok {
		return
	}
	me := a.username(ctx)
	if me == "" {
		return
	}
	page, err := a.api.Members(ctx, room, "", 2)
	if err != nil {
		return
	}
	for _, m := range page.Members {
		if m.User.Username != me {
			a.setDMName(room, m.User.Username)
			return
		}
	}
}

// cmdRooms lists the user's rooms (or, with "all", every visible room).
func (a *app) cmdRooms(ctx context.Context, v view, args []string, _ string) reply {
	list := a.myRooms
	if len(args) == 1 && args[0] == "all" {
		list = a.allRooms
	} else if len(args) > 0 {
		return note("usage: /rooms [all]")
	}
	rooms, err := list(ctx)
	if err != nil {
		return failed("/rooms", err)
	}
	var r reply
	for _, e := range rooms {
		r.lines = append(r.lines, roomLine(e, v.room))
	}
	if len(rooms) == 0 {
		r.notes = []string{"no rooms yet: /join ROOM or /create ROOM"}
	}
	return r
}

// roomLine describes one room of the list.
func roomLine(e roomEntry, current string) string {
	s := e.label
	if e.kind != "" {
		s += " " + e.kind
	}
	if e.state == "" {
		unit := "messages"
		if e.lastSeq == 1 {
			unit = "message"
		}
		s += fmt.Sprintf(" %d %s", e.lastSeq, unit)
	} else {
		s += fmt.Sprintf(" %d unread", e.unread)
		if e.state == client.StateInvited {
			s += " (invited: /join " + e.name + ")"
		}
	}
	if e.name == current {
		s += " (current)"
	}
	return s
}
