package chat

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. They are part of the public contract: REST error bodies and
// WebSocket error frames carry them verbatim.
const (
	// REST and handshake codes.
	CodeInvalidRequest     = "invalid_request"
	CodeUsernameTaken      = "username_taken"
	CodeRegistrationClosed = "registration_closed"
	CodeTooManyAttempts    = "too_many_attempts"
	CodeInvalidCredentials = "invalid_credentials"
	CodeInvalidToken       = "invalid_token"
	CodeTokenExpired       = "token_expired"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeRequestTooLarge    = "request_too_large"
	CodeUnsupportedMedia   = "unsupported_media_type"
	CodeRoomNotFound       = "room_not_found"
	CodeOriginNotAllowed   = "origin_not_allowed"
	CodeTooManyConnections = "too_many_connections"
	CodeUnavailable        = "unavailable"
	// Codes of rooms v2.
	CodeRoomExists        = "room_exists"
	CodeUserNotFound      = "user_not_found"
	CodeForbidden         = "forbidden"
	CodeOwnerMustTransfer = "owner_must_transfer"
	CodeAccountSuspended  = "account_suspended"
	CodeMuted             = "muted"
	CodeMessageNotFound   = "message_not_found"

	// Codes shared by REST and WebSocket.
	CodeInvalidRoom = "invalid_room"
	CodeInternal    = "internal"

	// WebSocket error frame codes.
	CodeBadRequest   = "bad_request"
	CodeInvalidSince = "invalid_since"
	CodeNotJoined    = "not_joined"
	CodeTooManyRooms = "too_many_rooms"
	CodeTextTooLong  = "text_too_long"
	CodeTextEmpty    = "text_empty"
	CodeRefConflict  = "ref_conflict"
	CodeRateLimited  = "rate_limited"
)

// Error is an error with a code from the list above and a message safe to
// show a client. Adapters translate it to an HTTP status or a WebSocket
// error frame at the edge.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when positive, tells the client how long to wait before
	// trying again (the Retry-After header of a 429).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the client-safe message of err: the message of its
// *Error, or a generic text for anything else so internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Sentinel errors returned by the storage layer.
var (
	// ErrNotFound reports a missing row.
	ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}
	// ErrUsernameTaken reports a username already registered.
	ErrUsernameTaken = &Error{Code: CodeUsernameTaken, Message: "username is taken"}
	// ErrRefConflict reports a client ref reused with a different room or text.
	ErrRefConflict = &Error{Code: CodeRefConflict, Message: "ref was already used for another message"}
	// ErrInvalidToken reports an unknown, expired, spent or revoked token.
	ErrInvalidToken = &Error{Code: CodeInvalidToken, Message: "token is invalid"}
	// ErrTokenExpired reports an access token past its expiry.
	ErrTokenExpired = &Error{Code: CodeTokenExpired, Message: "token has expired"}
	// ErrRoomNotFound reports a room that does not exist for the caller:
	// never created, deleted, or private or direct and not theirs to see.
	ErrRoomNotFound = &Error{Code: CodeRoomNotFound, Message: "no room of that name"}
	// ErrRoomExists reports a room name already held by a room, deleted
	// ones included.
	ErrRoomExists = &Error{Code: CodeRoomExists, Message: "a room of that name exists or existed"}
	// ErrUserNotFound reports an unknown username.
	ErrUserNotFound = &Error{Code: CodeUserNotFound, Message: "no user of that name"}
	// ErrNotMember reports an action on a user who is not a member of the
	// room.
	ErrNotMember = &Error{Code: CodeUserNotFound, Message: "the user is not a member of this room"}
	// ErrForbidden reports an action the caller may not take.
	ErrForbidden = &Error{Code: CodeForbidden, Message: "not allowed"}
	// ErrMuted reports a send, edit or typing while muted.
	ErrMuted = &Error{Code: CodeMuted, Message: "you are muted in this room"}
	// ErrOwnerMustTransfer reports an owner leaving while other members remain.
	ErrOwnerMustTransfer = &Error{Code: CodeOwnerMustTransfer, Message: "the owner must hand the room over before leaving"}
	// ErrMessageNotFound reports a seq that is not a live message of the room.
	ErrMessageNotFound = &Error{Code: CodeMessageNotFound, Message: "no message with that seq"}
	// ErrAccountSuspended reports a suspended user's login or refresh.
	ErrAccountSuspended = &Error{Code: CodeAccountSuspended, Message: "the account is suspended"}
)
