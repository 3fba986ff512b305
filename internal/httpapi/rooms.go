package httpapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/chatsvc/chat/internal/chat"
)

// Paging limits of the member list.
const (
	defaultMembersLimit = 100
	maxMembersLimit     = 500
)

// roomBody is the answer {"room": Room}.
type roomBody struct {
	Room chat.RoomJSON `json:"room"`
}

func (s *server) handleCreateRoom() echo.HandlerFunc {
	type request struct {
		Name  string `json:"name"`
		Kind  string `json:"kind"`
		Topic string `json:"topic"`
	}
	return func(c echo.Context) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.Kind != chat.KindPublic && req.Kind != chat.KindPrivate {
			return chat.Errorf(chat.CodeInvalidRequest, "kind must be public or private")
		}
		name, err := chat.NormalizeNewRoom(req.Name)
		if err != nil {
			return err
		}
		if err := chat.ValidateTopic(req.Topic); err != nil {
			return err
		}
		who := s.callerOf(c)
		ctx := c.Request().Context()
		if t := s.opt.RoomCreate; t != nil {
			retry, err := t.Blocked(ctx, who.user.ID)
			if err != nil {
				return err
			}
			if retry > 0 {
				if s.m != nil {
					s.m.RateLimitedRoomCreate.Inc()
				}
				return &chat.Error{Code: chat.CodeRateLimited, Message: "too many rooms created, try again later", RetryAfter: retry}
			}
		}
		r, err := s.opt.Store.CreateRoom(ctx, name, req.Kind, req.Topic, who.user)
		if err != nil {
			return err
		}
		if t := s.opt.RoomCreate; t != nil {
			if _, err := t.Hit(ctx, who.user.ID); err != nil {
				s.log.Warn("room create throttle hit failed", "user_id", who.user.ID, "err", err)
			}
		}
		return c.JSON(http.StatusCreated, roomBody{Room: r.JSON()})
	}
}

func (s *server) handleGetRoom() echo.HandlerFunc {
	type answer struct {
		Room       chat.RoomJSON    `json:"room"`
		Membership *chat.MemberJSON `json:"membership"`
	}
	return func(c echo.Context) error {
		ra, err := s.access(c, chat.ActView)
		if err != nil {
			return err
		}
		out := answer{Room: ra.room.JSON()}
		if m := ra.actor.Member; m.State != "" {
			j := m.JSON()
			out.Membership = &j
		}
		return c.JSON(http.StatusOK, out)
	}
}

func (s *server) handlePatchRoom() echo.HandlerFunc {
	type request struct {
		Topic *string `json:"topic"`
	}
	return func(c echo.Context) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.Topic == nil {
			return chat.Errorf(chat.CodeInvalidRequest, "topic is required")
		}
		if err := chat.ValidateTopic(*req.Topic); err != nil {
			return err
		}
		who := s.callerOf(c)
		ra, err := s.loadRoom(c, who)
		if err != nil {
			return err
		}
		if err := s.authorize(ra, chat.ActTopic, chat.Target{}); err != nil {
			return err
		}
		ctx := c.Request().Context()
		ev, _, err := s.append(ctx, chat.NewMessage{Room: ra.room.Name, UserID: who.user.ID,
			Username: who.user.Username, Kind: chat.StreamRoom, Topic: *req.Topic})
		if err != nil {
			return err
		}
		s.notify.Event(ctx, ev)
		r, err := s.opt.Store.Room(ctx, ra.room.Name)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, roomBody{Room: r.JSON()})
	}
}

func (s *server) handleDeleteRoom() echo.HandlerFunc {
	return func(c echo.Context) error {
		ra, err := s.access(c, chat.ActDeleteRoom)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		if _, err := s.opt.Store.DeleteRoom(ctx, ra.room.Name); errors.Is(err, chat.ErrNotFound) {
			return chat.ErrRoomNotFound
		} else if err != nil {
			return err
		}
		s.count("delete_room")
		s.notify.RoomDeleted(ctx, ra.room.Name)
		return c.NoContent(http.StatusNoContent)
	}
}

func (s *server) handleMembers() echo.HandlerFunc {
	type page struct {
		Members []chat.MemberJSON `json:"members"`
		Next    *string           `json:"next"`
	}
	return func(c echo.Context) error {
		limit, err := queryLimit(c, defaultMembersLimit, maxMembersLimit)
		if err != nil {
			return err
		}
		after := c.QueryParam("after")
		if after != "" {
			if after, err = chat.NormalizeUsername(after); err != nil {
				return chat.Errorf(chat.CodeInvalidRequest, "after must be a username")
			}
		}
		ra, err := s.access(c, chat.ActRead)
		if err != nil {
			return err
		}
		withBanned := s.authorize(ra, chat.ActSeeBanned, chat.Target{}) == nil
		ms, more, err := s.opt.Store.Members(c.Request().Context(), ra.room.Name, after, limit, withBanned)
		if err != nil {
			return err
		}
		out := page{Members: make([]chat.MemberJSON, 0, len(ms))}
		for _, m := range ms {
			out.Members = append(out.Members, m.JSON())
		}
		if more && len(ms) > 0 {
			next := ms[len(ms)-1].Username
			out.Next = &next
		}
		return c.JSON(http.StatusOK, out)
	}
}

func (s *server) handleMyRooms() echo.HandlerFunc {
	type answer struct {
		Rooms []chat.MyRoomJSON `json:"rooms"`
	}
	return func(c echo.Context) error {
		rs, err := s.opt.Store.MyRooms(c.Request().Context(), s.callerOf(c).user.ID)
		if err != nil {
			return err
		}
		out := answer{Rooms: make([]chat.MyRoomJSON, 0, len(rs))}
		for _, r := range rs {
			out.Rooms = append(out.Rooms, r.JSON())
		}
		return c.JSON(http.StatusOK, out)
	}
}
