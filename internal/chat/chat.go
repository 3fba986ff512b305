// Package chat holds the domain types of the chat service, the rules that
// validate them, the wire frames of the WebSocket protocol and the error kinds
// shared by every other package. It imports nothing but the standard library.
package chat

import "time"

// TimeLayout is the layout of every timestamp the service writes: UTC with
// exactly three fraction digits.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime renders t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime parses a timestamp written by FormatTime.
func ParseTime(s string) (time.Time, error) { return time.Parse(TimeLayout, s) }

// DefaultRoom is the room that always exists.
const DefaultRoom = "general"

// User is a registered account.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"-"`
}

// Room is a public chat room. LastSeq is the seq of its newest message, 0
// when it has none.
type Room struct {
	Name      string
	CreatedAt time.Time
	LastSeq   int64
}

// Message is a stored chat message. Seq numbers a room's messages 1, 2, 3, …
// without gaps.
type Message struct {
	Room   string
	Seq    int64
	ID     string
	FromID string
	From   string
	Text   string
	TS     time.Time
}

// NewMessage is a message about to be stored. Ref is the client's
// idempotency key, unique per user.
type NewMessage struct {
	Room     string
	UserID   string
	Username string
	Text     string
	Ref      string
}

// Session is the chain of refresh tokens that started at one login.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while the session is live
}

// Active reports whether the session is neither revoked nor expired at now.
func (s Session) Active(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}
