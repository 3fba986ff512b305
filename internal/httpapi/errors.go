package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/labstack/echo/v4"
)

// statusOf maps an error code to its HTTP status.
func statusOf(code string) int {
	switch code {
	case chat.CodeInvalidRequest, chat.CodeInvalidRoom, chat.CodeBadRequest:
		return http.StatusBadRequest
	case chat.CodeInvalidCredentials, chat.CodeInvalidToken, chat.CodeTokenExpired:
		return http.StatusUnauthorized
	case chat.CodeRegistrationClosed, chat.CodeOriginNotAllowed, chat.CodeForbidden,
		chat.CodeAccountSuspended, chat.CodeMuted:
		return http.StatusForbidden
	case chat.CodeNotFound, chat.CodeRoomNotFound, chat.CodeUserNotFound, chat.CodeMessageNotFound:
		return http.StatusNotFound
	case chat.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case chat.CodeUsernameTaken, chat.CodeRoomExists, chat.CodeOwnerMustTransfer:
		return http.StatusConflict
	case chat.CodeRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case chat.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case chat.CodeTooManyAttempts, chat.CodeTooManyConnections, chat.CodeRateLimited:
		return http.StatusTooManyRequests
	case chat.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// codeOfStatus names the error of a bare HTTP status (Echo's own errors).
func codeOfStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return chat.CodeNotFound
	case http.StatusMethodNotAllowed:
		return chat.CodeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return chat.CodeRequestTooLarge
	case http.StatusUnsupportedMediaType:
		return chat.CodeUnsupportedMedia
	case http.StatusUnauthorized:
		return chat.CodeInvalidToken
	case http.StatusTooManyRequests:
		return chat.CodeRateLimited
	case http.StatusServiceUnavailable:
		return chat.CodeUnavailable
	}
	if status >= 400 && status < 500 {
		return chat.CodeInvalidRequest
	}
	return chat.CodeInternal
}

// errorHandler renders every error, Echo's own included, as the contract's
// JSON error body. Internal errors are logged here, once, and reach the
// client only as "internal".
func (s *server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var (
		status int
		code   string
		msg    string
	)
	var ce *chat.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ce):
		code, msg = ce.Code, ce.Message
		status = statusOf(code)
		if ce.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ce.RetryAfter.Seconds()))))
		}
	case errors.As(err, &he):
		status = he.Code
		code = codeOfStatus(status)
		msg = http.StatusText(status)
		if status == http.StatusRequestEntityTooLarge {
			msg = "the request body is larger than 64 KiB"
		}
	default:
		status, code, msg = http.StatusInternalServerError, chat.CodeInternal, "internal error"
	}
	if status >= 500 {
		s.log.Error("request failed", "request_id", requestID(c), "route", c.Path(), "err", err)
		if code == chat.CodeInternal {
			msg = "internal error"
		}
	}
	if status == http.StatusUnauthorized && c.Response().Header().Get("WWW-Authenticate") == "" {
		c.Response().Header().Set("WWW-Authenticate", "Bearer")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	body := chat.ErrorBody{Error: chat.ErrorDetail{Code: code, Message: msg}}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func statusText(code int) string {
	if code >= 100 && code < 600 {
		return strconv.Itoa(code)
	}
	return "other"
}
