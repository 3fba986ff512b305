package httpapi

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/chatsvc/chat/internal/chat"
)

// caller is the authenticated user of a request.
type caller struct {
	user        chat.User // ID and Username from the token
	serverAdmin bool
}

// callerOf returns the request's user, from the claims the auth middleware
// stored.
func (s *server) callerOf(c echo.Context) caller {
	claims, _ := claimsFrom(c)
	return caller{
		user:        chat.User{ID: claims.UserID, Username: claims.Username},
		serverAdmin: s.admins[claims.Username],
	}
}

// roomAccess is a room as one caller sees it.
type roomAccess struct {
	room  chat.Room
	actor chat.Actor
}

// loadRoom reads the room named by the :room parameter and the caller's
// membership of it. A malformed name is invalid_room, a room never created
// room_not_found.
func (s *server) loadRoom(c echo.Context, who caller) (roomAccess, error) {
	name, err := chat.NormalizeRoom(c.Param("room"))
	if err != nil {
		return roomAccess{}, err
	}
	return s.loadRoomNamed(c, who, name)
}

// loadRoomNamed is loadRoom for a room name read elsewhere than the path.
func (s *server) loadRoomNamed(c echo.Context, who caller, name string) (roomAccess, error) {
	ctx := c.Request().Context()
	r, err := s.opt.Store.Room(ctx, name)
	if errors.Is(err, chat.ErrNotFound) {
		return roomAccess{}, chat.ErrRoomNotFound
	}
	if err != nil {
		return roomAccess{}, err
	}
	m, err := s.opt.Store.Membership(ctx, name, who.user.ID)
	if err != nil {
		return roomAccess{}, err
	}
	return roomAccess{room: r, actor: chat.Actor{UserID: who.user.ID, ServerAdmin: who.serverAdmin, Member: m}}, nil
}

// authorize asks chat.Authorize whether the caller may take action.
func (s *server) authorize(ra roomAccess, action chat.Action, target chat.Target) error {
	return chat.Authorize(ra.room, ra.actor, action, target, s.now())
}

// access loads the room of the :room parameter and checks the caller may
// take action in it.
func (s *server) access(c echo.Context, action chat.Action) (roomAccess, error) {
	name, err := chat.NormalizeRoom(c.Param("room"))
	if err != nil {
		return roomAccess{}, err
	}
	return s.accessNamed(c, name, action)
}

// accessNamed is access for a room named elsewhere than the path.
func (s *server) accessNamed(c echo.Context, name string, action chat.Action) (roomAccess, error) {
	ra, err := s.loadRoomNamed(c, s.callerOf(c), name)
	if err != nil {
		return roomAccess{}, err
	}
	return ra, s.authorize(ra, action, chat.Target{})
}

// userByName returns the user with the given name; user_not_found for a
// name no account can have or nobody has.
func (s *server) userByName(ctx context.Context, name string) (chat.User, error) {
	n, err := chat.NormalizeUsername(name)
	if err != nil {
		return chat.User{}, chat.ErrUserNotFound
	}
	u, _, err := s.opt.Store.UserByName(ctx, n)
	if errors.Is(err, chat.ErrNotFound) {
		return chat.User{}, chat.ErrUserNotFound
	}
	return u, err
}

// count records a moderation action.
func (s *server) count(action string) {
	if s.m != nil {
		s.m.Moderation(action)
	}
}

// append stores a stream event. A room deleted since the handler read it
// is room_not_found.
func (s *server) append(ctx context.Context, m chat.NewMessage) (chat.Message, bool, error) {
	ev, dup, err := s.opt.Store.Append(ctx, m)
	if errors.Is(err, chat.ErrNotFound) {
		return chat.Message{}, false, chat.ErrRoomNotFound
	}
	return ev, dup, err
}
