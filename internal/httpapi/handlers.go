package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/labstack/echo/v4"
)

// Paging limits of the list endpoints.
const (
	defaultRoomsLimit   = 100
	maxRoomsLimit       = 500
	defaultHistoryLimit = 50
	maxHistoryLimit     = 200
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// decodeJSON reads a JSON object body: application/json, at most
// MaxBodyBytes, valid UTF-8, one object. Unknown fields are ignored.
func decodeJSON(c echo.Context, v any) error {
	r := c.Request()
	ct := r.Header.Get(echo.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != echo.MIMEApplicationJSON {
		return chat.Errorf(chat.CodeInvalidRequest, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return chat.Errorf(chat.CodeInvalidRequest, "the request body could not be read")
	}
	if len(body) > MaxBodyBytes {
		return chat.Errorf(chat.CodeRequestTooLarge, "the request body is larger than 64 KiB")
	}
	if !utf8.Valid(body) {
		return chat.Errorf(chat.CodeInvalidRequest, "the request body is not valid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		return chat.Errorf(chat.CodeInvalidRequest, "the request body is not a valid JSON object of the expected shape")
	}
	if d.More() {
		return chat.Errorf(chat.CodeInvalidRequest, "the request body holds more than one JSON value")
	}
	return nil
}

func (s *server) handleHealth() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}

func (s *server) handleReady() echo.HandlerFunc {
	type unready struct {
		Status string   `json:"status"`
		Failed []string `json:"failed"`
	}
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		var failed []string
		if s.opt.Ready != nil {
			failed = s.opt.Ready(c.Request().Context())
		}
		if len(failed) > 0 {
			return c.JSON(http.StatusServiceUnavailable, unready{Status: "unavailable", Failed: failed})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}

func (s *server) handleRegister() echo.HandlerFunc {
	return func(c echo.Context) error {
		var req credentials
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		u, err := s.opt.Auth.Register(c.Request().Context(), req.Username, req.Password, c.RealIP())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, map[string]chat.UserJSON{"user": u.JSON()})
	}
}

func (s *server) handleLogin() echo.HandlerFunc {
	return func(c echo.Context) error {
		var req credentials
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		pair, _, err := s.opt.Auth.Login(c.Request().Context(), req.Username, req.Password, c.RealIP())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, pair)
	}
}

// decodeRefreshToken reads the body of a refresh or a logout and returns
// its refresh_token, which must not be empty.
func decodeRefreshToken(c echo.Context) (string, error) {
	var req refreshRequest
	if err := decodeJSON(c, &req); err != nil {
		return "", err
	}
	if req.RefreshToken == "" {
		return "", chat.Errorf(chat.CodeInvalidRequest, "refresh_token is required")
	}
	return req.RefreshToken, nil
}

func (s *server) handleRefresh() echo.HandlerFunc {
	return func(c echo.Context) error {
		token, err := decodeRefreshToken(c)
		if err != nil {
			return err
		}
		pair, err := s.opt.Auth.RefreshFrom(c.Request().Context(), token, c.RealIP())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, pair)
	}
}

func (s *server) handleLogout() echo.HandlerFunc {
	return func(c echo.Context) error {
		token, err := decodeRefreshToken(c)
		if err != nil {
			return err
		}
		if err := s.opt.Auth.LogoutFrom(c.Request().Context(), token, c.RealIP()); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

func (s *server) handleMe() echo.HandlerFunc {
	return func(c echo.Context) error {
		claims, _ := claimsFrom(c)
		u, err := s.opt.Store.UserByID(c.Request().Context(), claims.UserID)
		if err != nil {
			if errors.Is(err, chat.ErrNotFound) {
				return chat.ErrInvalidToken
			}
			return err
		}
		return c.JSON(http.StatusOK, map[string]chat.UserJSON{"user": u.JSON()})
	}
}

// queryLimit parses the limit parameter: absent gives def, above max gives
// max, below 1 or not an integer is invalid_request.
func queryLimit(c echo.Context, def, max int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, chat.Errorf(chat.CodeInvalidRequest, "limit must be an integer of at least 1")
	}
	return min(n, max), nil
}

func (s *server) handleRooms() echo.HandlerFunc {
	type page struct {
		Rooms []chat.RoomJSON `json:"rooms"`
		Next  *string         `json:"next"`
	}
	return func(c echo.Context) error {
		limit, err := queryLimit(c, defaultRoomsLimit, maxRoomsLimit)
		if err != nil {
			return err
		}
		after := c.QueryParam("after")
		if after != "" {
			if after, err = chat.NormalizeRoom(after); err != nil {
				return chat.Errorf(chat.CodeInvalidRequest, "after must be a room name")
			}
		}
		who := s.callerOf(c)
		rooms, more, err := s.opt.Store.RoomsFor(c.Request().Context(), who.user.ID, who.serverAdmin, after, limit)
		if err != nil {
			return err
		}
		out := page{Rooms: make([]chat.RoomJSON, 0, len(rooms))}
		for _, r := range rooms {
			out.Rooms = append(out.Rooms, r.JSON())
		}
		if more && len(rooms) > 0 {
			next := rooms[len(rooms)-1].Name
			out.Next = &next
		}
		return c.JSON(http.StatusOK, out)
	}
}

func (s *server) handleMessages() echo.HandlerFunc {
	type page struct {
		Messages []chat.MessageJSON `json:"messages"`
		HasMore  bool               `json:"has_more"`
	}
	return func(c echo.Context) error {
		if _, err := chat.NormalizeRoom(c.Param("room")); err != nil {
			return err
		}
		limit, err := queryLimit(c, defaultHistoryLimit, maxHistoryLimit)
		if err != nil {
			return err
		}
		var before int64
		if v := c.QueryParam("before"); v != "" {
			before, err = strconv.ParseInt(v, 10, 64)
			if err != nil || before < 1 {
				return chat.Errorf(chat.CodeInvalidRequest, "before must be an integer of at least 1")
			}
		}
		ra, err := s.access(c, chat.ActRead)
		if err != nil {
			return err
		}
		msgs, more, err := s.opt.Store.History(c.Request().Context(), ra.room.Name, before, limit)
		if err != nil {
			return err
		}
		out := page{Messages: make([]chat.MessageJSON, 0, len(msgs)), HasMore: more}
		for _, m := range msgs {
			out.Messages = append(out.Messages, m.JSON())
		}
		return c.JSON(http.StatusOK, out)
	}
}
