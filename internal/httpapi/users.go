package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/chatsvc/chat/internal/chat"
)

func (s *server) handleUser() echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := s.userByName(c.Request().Context(), c.Param("username"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]chat.UserJSON{"user": u.JSON()})
	}
}

func (s *server) handleDM() echo.HandlerFunc {
	type request struct {
		Username string `json:"username"`
	}
	return func(c echo.Context) error {
		var req request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.Username == "" {
			return chat.Errorf(chat.CodeInvalidRequest, "username is required")
		}
		who := s.callerOf(c)
		ctx := c.Request().Context()
		other, err := s.userByName(ctx, req.Username)
		if err != nil {
			return err
		}
		if other.ID == who.user.ID {
			return chat.Errorf(chat.CodeInvalidRequest, "a direct room needs another user")
		}
		r, err := s.opt.Store.DirectRoom(ctx, who.user, other)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, roomBody{Room: r.JSON()})
	}
}

// handleSuspend serves POST /api/v1/admin/users/{username}/suspend (suspend
// true) or …/unsuspend, for server admins only.
func (s *server) handleSuspend(suspend bool) echo.HandlerFunc {
	type request struct {
		Reason string `json:"reason"`
	}
	return func(c echo.Context) error {
		who := s.callerOf(c)
		if !who.serverAdmin {
			return chat.ErrForbidden
		}
		action := "unsuspend"
		if suspend {
			action = "suspend"
		}
		var req request
		if c.Request().ContentLength != 0 {
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
		}
		if err := chat.ValidateReason(req.Reason); err != nil {
			return err
		}
		ctx := c.Request().Context()
		u, err := s.userByName(ctx, c.Param("username"))
		if err != nil {
			return err
		}
		if u.ID == who.user.ID {
			return chat.Errorf(chat.CodeForbidden, "server admins cannot suspend themselves")
		}
		revoked, err := s.opt.Store.SetSuspended(ctx, u.ID, suspend)
		if err != nil {
			return err
		}
		s.count(action)
		s.log.Info("account suspension changed", "action", action, "user_id", u.ID, "by", who.user.ID, "reason", req.Reason)
		if len(revoked) > 0 {
			s.notify.SessionsRevoked(ctx, revoked)
		}
		return c.NoContent(http.StatusNoContent)
	}
}
