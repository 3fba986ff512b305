package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Largest pages the server hands out.
const (
	MaxRoomsPage    = 500
	MaxMessagesPage = 200
	MaxMembersPage  = 500
	MaxSearchPage   = 100
)

// roomPath returns the path of a room, with more elements after it.
func roomPath(room string, more ...string) string {
	p := "api/v1/rooms/" + url.PathEscape(room)
	for _, m := range more {
		p += "/" + m
	}
	return p
}

// pageQuery returns the query of a paged list.
func pageQuery(key, value string, limit int) url.Values {
	q := url.Values{}
	if value != "" {
		q.Set(key, value)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// Rooms returns one page of the rooms the caller can see, by name, after
// the name after; limit 0 means the server's default.
func (c *Client) Rooms(ctx context.Context, after string, limit int) (RoomsPage, error) {
	var out RoomsPage
	if err := c.get(ctx, "api/v1/rooms", pageQuery("after", after, limit), &out); err != nil {
		return out, fmt.Errorf("rooms: %w", err)
	}
	return out, nil
}

// Messages returns the newest limit messages of room with a seq below
// before (0: the newest), oldest first.
func (c *Client) Messages(ctx context.Context, room string, before int64, limit int) (MessagesPage, error) {
	q := pageQuery("", "", limit)
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	var out MessagesPage
	if err := c.get(ctx, roomPath(room, "messages"), q, &out); err != nil {
		return out, fmt.Errorf("messages of #%s: %w", room, err)
	}
	return out, nil
}

// History returns, oldest first, at most n of the newest messages of room
// with after < seq < before (before 0: no upper bound), paging as needed.
func (c *Client) History(ctx context.Context, room string, after, before int64, n int) ([]Message, error) {
	var pages [][]Message
	total := 0
	for total < n && (before == 0 || before-1 > after) {
		limit := min(n-total, MaxMessagesPage)
		page, err := c.Messages(ctx, room, before, limit)
		if err != nil {
			return nil, err
		}
		var keep []Message
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
		if !page.HasMore || len(keep) < len(page.Messages) {
			break
		}
	}
	slices.Reverse(pages)
	out := slices.Concat(pages...)
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}

// CreateRoom makes a room of kind KindPublic or KindPrivate, owned by the
// caller.
func (c *Client) CreateRoom(ctx context.Context, name, kind, topic string) (Room, error) {
	in := struct {
		Name  string `json:"name"`
		Kind  string `json:"kind"`
		Topic string `json:"topic,omitempty"`
	}{name, kind, topic}
	var out struct {
		Room Room `json:"room"`
	}
	if err := c.send(ctx, http.MethodPost, "api/v1/rooms", in, &out); err != nil {
		return Room{}, fmt.Errorf("create room #%s: %w", name, err)
	}
	return out.Room, nil
}

// Room returns a room and the caller's membership of it.
func (c *Client) Room(ctx context.Context, room string) (RoomInfo, error) {
	var out RoomInfo
	if err := c.get(ctx, roomPath(room), nil, &out); err != nil {
		return out, fmt.Errorf("room #%s: %w", room, err)
	}
	return out, nil
}

// SetTopic changes a room's topic ("" clears it).
func (c *Client) SetTopic(ctx context.Context, room, topic string) (Room, error) {
	in := struct {
		Topic string `json:"topic"`
	}{topic}
	var out struct {
		Room Room `json:"room"`
	}
	if err := c.send(ctx, http.MethodPatch, roomPath(room), in, &out); err != nil {
		return Room{}, fmt.Errorf("topic of #%s: %w", room, err)
	}
	return out.Room, nil
}

// DeleteRoom deletes a room for good.
func (c *Client) DeleteRoom(ctx context.Context, room string) error {
	if err := c.send(ctx, http.MethodDelete, roomPath(room), nil, nil); err != nil {
		return fmt.Errorf("delete #%s: %w", room, err)
	}
	return nil
}

// Members returns one page of a room's members by username.
func (c *Client) Members(ctx context.Context, room, after string, limit int) (MembersPage, error) {
	var out MembersPage
	if err := c.get(ctx, roomPath(room, "members"), pageQuery("after", after, limit), &out); err != nil {
		return out, fmt.Errorf("members of #%s: %w", room, err)
	}
	return out, nil
}

// action is the body of a room action.
type action struct {
	Username string `json:"username,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Duration string `json:"duration,omitempty"`
	Role     string `json:"role,omitempty"`
}

// roomAction posts one moderation action.
func (c *Client) roomAction(ctx context.Context, room, name string, in action) error {
	if err := c.send(ctx, http.MethodPost, roomPath(room, name), in, nil); err != nil {
		return fmt.Errorf("%s in #%s: %w", name, room, err)
	}
	return nil
}

// Invite invites user to a private room.
func (c *Client) Invite(ctx context.Context, room, user, reason string) error {
	return c.roomAction(ctx, room, "invite", action{Username: user, Reason: reason})
}

// Kick ends user's membership of room.
func (c *Client) Kick(ctx context.Context, room, user, reason string) error {
	return c.roomAction(ctx, room, "kick", action{Username: user, Reason: reason})
}

// Ban bans user from room.
func (c *Client) Ban(ctx context.Context, room, user, reason string) error {
	return c.roomAction(ctx, room, "ban", action{Username: user, Reason: reason})
}

// Unban lifts user's ban from room.
func (c *Client) Unban(ctx context.Context, room, user, reason string) error {
	return c.roomAction(ctx, room, "unban", action{Username: user, Reason: reason})
}

// Mute keeps user from sending, editing and typing in room for d (at most
// 720h).
func (c *Client) Mute(ctx context.Context, room, user string, d time.Duration, reason string) error {
	return c.roomAction(ctx, room, "mute", action{Username: user, Reason: reason, Duration: d.String()})
}

// Unmute lifts user's mute in room.
func (c *Client) Unmute(ctx context.Context, room, user, reason string) error {
	return c.roomAction(ctx, room, "unmute", action{Username: user, Reason: reason})
}

// SetRole gives user the role RoleAdmin or RoleMember in room, or hands
// the room over with RoleOwner.
func (c *Client) SetRole(ctx context.Context, room, user, role string) error {
	return c.roomAction(ctx, room, "role", action{Username: user, Role: role})
}

// LeaveRoom ends the caller's membership of room (a direct room is only
// hidden until its next message). Unlike Socket.Leave, the membership ends.
func (c *Client) LeaveRoom(ctx context.Context, room string) error {
	return c.roomAction(ctx, room, "leave", action{})
}

// DM returns the direct room of the caller and user, made on first use.
func (c *Client) DM(ctx context.Context, user string) (Room, error) {
	in := struct {
		Username string `json:"username"`
	}{user}
	var out struct {
		Room Room `json:"room"`
	}
	if err := c.send(ctx, http.MethodPost, "api/v1/dms", in, &out); err != nil {
		return Room{}, fmt.Errorf("direct room with %s: %w", user, err)
	}
	return out.Room, nil
}

// User returns a user by name.
func (c *Client) User(ctx context.Context, username string) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	if err := c.get(ctx, "api/v1/users/"+url.PathEscape(username), nil, &out); err != nil {
		return User{}, fmt.Errorf("user %s: %w", username, err)
	}
	return out.User, nil
}

// MyRooms returns the rooms the caller is a member of or invited to, the
// most recently active first, with unread counts.
func (c *Client) MyRooms(ctx context.Context) ([]MyRoom, error) {
	var out struct {
		Rooms []MyRoom `json:"rooms"`
	}
	if err := c.get(ctx, "api/v1/me/rooms", nil, &out); err != nil {
		return nil, fmt.Errorf("my rooms: %w", err)
	}
	return out.Rooms, nil
}

// Search returns one page of the messages matching q, newest first.
func (c *Client) Search(ctx context.Context, q SearchQuery) (SearchPage, error) {
	v := pageQuery("before", q.Before, q.Limit)
	v.Set("q", q.Q)
	if q.Room != "" {
		v.Set("room", q.Room)
	}
	var out SearchPage
	if err := c.get(ctx, "api/v1/search", v, &out); err != nil {
		return out, fmt.Errorf("search: %w", err)
	}
	return out, nil
}

// Suspend suspends a user's account (server admins only): their sessions
// end, and login and refresh are refused.
func (c *Client) Suspend(ctx context.Context, username, reason string) error {
	return c.adminAction(ctx, username, "suspend", reason)
}

// Unsuspend lifts a suspension (server admins only).
func (c *Client) Unsuspend(ctx context.Context, username, reason string) error {
	return c.adminAction(ctx, username, "unsuspend", reason)
}

func (c *Client) adminAction(ctx context.Context, username, name, reason string) error {
	in := action{Reason: reason}
	if err := c.send(ctx, http.MethodPost, "api/v1/admin/users/"+url.PathEscape(username)+"/"+name, in, nil); err != nil {
		return fmt.Errorf("%s %s: %w", name, username, err)
	}
	return nil
}
