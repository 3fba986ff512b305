package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is an error code of the contract. A Code is itself an error, so
// errors.Is(err, CodeRoomNotFound) reports whether err is an *APIError or
// a *FrameError with that code.
type Code string

// Error returns the code.
func (c Code) Error() string { return string(c) }

// Error codes of the contract (REST bodies and WebSocket error frames).
const (
	CodeInvalidRequest     Code = "invalid_request"
	CodeUsernameTaken      Code = "username_taken"
	CodeRegistrationClosed Code = "registration_closed"
	CodeTooManyAttempts    Code = "too_many_attempts"
	CodeInvalidCredentials Code = "invalid_credentials"
	CodeInvalidToken       Code = "invalid_token"
	CodeTokenExpired       Code = "token_expired"
	CodeAccountSuspended   Code = "account_suspended"
	CodeNotFound           Code = "not_found"
	CodeMethodNotAllowed   Code = "method_not_allowed"
	CodeRequestTooLarge    Code = "request_too_large"
	CodeOriginNotAllowed   Code = "origin_not_allowed"
	CodeUnavailable        Code = "unavailable"
	CodeRoomNotFound       Code = "room_not_found"
	CodeUserNotFound       Code = "user_not_found"
	CodeRoomExists         Code = "room_exists"
	CodeOwnerMustTransfer  Code = "owner_must_transfer"
	CodeForbidden          Code = "forbidden"
	CodeTooManyConnections Code = "too_many_connections"
	CodeInvalidRoom        Code = "invalid_room"
	CodeInternal           Code = "internal"
	CodeBadRequest         Code = "bad_request"
	CodeInvalidSince       Code = "invalid_since"
	CodeNotJoined          Code = "not_joined"
	CodeTooManyRooms       Code = "too_many_rooms"
	CodeTextTooLong        Code = "text_too_long"
	CodeTextEmpty          Code = "text_empty"
	CodeRefConflict        Code = "ref_conflict"
	CodeRateLimited        Code = "rate_limited"
	CodeMuted              Code = "muted"
	CodeMessageNotFound    Code = "message_not_found"
)

// APIError is an answer of the REST API (or of the WebSocket handshake)
// other than 2xx.
type APIError struct {
	Status  int
	Code    Code
	Message string
	// RetryAfter is the Retry-After of a 429, zero when absent.
	RetryAfter time.Duration
}

// Error returns the server's message with its code.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code == "" {
		return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
	}
	return fmt.Sprintf("%s (%s)", msg, e.Code)
}

// Is reports whether target is e's Code, or an *APIError whose non-zero
// Status and Code equal e's.
func (e *APIError) Is(target error) bool {
	switch t := target.(type) {
	case Code:
		return e.Code == t
	case *APIError:
		return (t.Status == 0 || t.Status == e.Status) && (t.Code == "" || t.Code == e.Code)
	}
	return false
}

// FrameError is an error frame of the WebSocket: a command that failed.
type FrameError struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
	Room    string `json:"room,omitempty"`
}

// Error returns the server's message with its code.
func (e *FrameError) Error() string {
	if e.Room != "" {
		return fmt.Sprintf("#%s: %s (%s)", e.Room, e.Message, e.Code)
	}
	return fmt.Sprintf("%s (%s)", e.Message, e.Code)
}

// Is reports whether target is e's Code.
func (e *FrameError) Is(target error) bool {
	c, ok := target.(Code)
	return ok && e.Code == c
}

// CloseError is the close of a socket that a Socket does not get past:
// a close code the contract says to stop on.
type CloseError struct {
	Code   int
	Reason string
}

// Error names the close code.
func (e *CloseError) Error() string {
	return fmt.Sprintf("the server closed the connection: %s (%d)", e.Reason, e.Code)
}

var (
	// ErrSessionEnded reports that the session's refresh token was
	// refused: it was revoked, spent twice, or expired, or the account is
	// suspended. Log in again.
	ErrSessionEnded = errors.New("session ended: log in again")
	// ErrSessionRevoked reports that the server closed the socket with
	// 4003: the session was revoked (a logout elsewhere, a suspension).
	ErrSessionRevoked = errors.New("session revoked: log in again")
	// ErrNotLoggedIn reports a call that needs tokens on a Client without.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrClosed reports a command on a Socket that has stopped, or that
	// stopped before the command was answered.
	ErrClosed = errors.New("socket closed")
	// ErrRunning reports a second call of Socket.Run.
	ErrRunning = errors.New("socket already run")
	// ErrNotInRoom reports a command that never reached the server: its
	// room was not joined, or the socket left it (or was taken out of it)
	// before the command was written. Nothing was stored.
	ErrNotInRoom = errors.New("not in the room")
	// ErrOutcomeUnknown reports a command that reached the server but
	// whose answer cannot be had: it was written on a connection that
	// ended before the answer came, and the socket could not ask again
	// (it was taken out of the room meanwhile, or Run ended). The server
	// may have stored it or not; it is no refusal. Reading the room's
	// history, where allowed, tells which.
	ErrOutcomeUnknown = errors.New("outcome unknown: the server may have stored it")
)
