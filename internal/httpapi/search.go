package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/labstack/echo/v4"
)

// maxSearchBeforeLen bounds the before parameter of a search: message ids
// are far shorter.
const maxSearchBeforeLen = 64

// searchPage is the body of GET /api/v1/search.
type searchPage struct {
	Results []chat.MessageJSON `json:"results"`
	Next    *string            `json:"next"`
}

// handleSearch answers GET /api/v1/search?q=TEXT&room=NAME&before=ID&limit=N
// with the caller's readable messages that hold every word of q, newest
// first.
func (s *server) handleSearch() echo.HandlerFunc {
	return func(c echo.Context) error {
		req, err := s.searchRequest(c)
		if err != nil {
			return err
		}
		if req.Room != "" {
			// Searching a room is reading it: the check of GET …/messages.
			if _, err := s.accessNamed(c, req.Room, chat.ActRead); err != nil {
				return err
			}
		}
		start := time.Now()
		page, err := s.opt.Store.Search(c.Request().Context(), req)
		if s.m != nil {
			s.m.SearchDuration.Observe(time.Since(start).Seconds())
		}
		if errors.Is(err, chat.ErrNotFound) {
			return chat.Errorf(chat.CodeRoomNotFound, "no room of that name")
		}
		if err != nil {
			return err
		}
		out := searchPage{Results: make([]chat.MessageJSON, 0, len(page.Hits))}
		for _, h := range page.Hits {
			out.Results = append(out.Results, h.JSON())
		}
		if page.Next != "" {
			out.Next = &page.Next
		}
		return c.JSON(http.StatusOK, out)
	}
}

// searchRequest reads and checks the parameters of a search.
func (s *server) searchRequest(c echo.Context) (chat.Search, error) {
	claims, _ := claimsFrom(c)
	q, err := chat.ParseSearch(c.QueryParam("q"))
	if err != nil {
		return chat.Search{}, err
	}
	limit, err := queryLimit(c, chat.DefaultSearchLimit, chat.MaxSearchLimit)
	if err != nil {
		return chat.Search{}, err
	}
	req := chat.Search{
		Query:  q,
		UserID: claims.UserID,
		Admin:  slices.Contains(s.opt.Admins, claims.Username),
		Limit:  limit,
	}
	if v := c.QueryParam("room"); v != "" {
		if req.Room, err = chat.NormalizeRoom(v); err != nil {
			return chat.Search{}, chat.Errorf(chat.CodeInvalidRequest, "room must be a room name")
		}
	}
	if v := c.QueryParam("before"); v != "" {
		if len(v) > maxSearchBeforeLen || !printableASCII(v) {
			return chat.Search{}, chat.Errorf(chat.CodeInvalidRequest, "before must be a message id")
		}
		req.Before = v
	}
	return req, nil
}

// printableASCII reports whether s holds only printable ASCII characters.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
