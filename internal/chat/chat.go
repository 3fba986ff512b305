// Package chat holds the domain types of the chat service, the rules that
// validate them, the wire frames of the WebSocket protocol and the error kinds
// shared by every other package. It imports nothing but the standard library.
package chat

import (
	"context"
	"time"
)

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
	// SuspendedAt is when a server admin suspended the user, zero when the
	// account is in good standing.
	SuspendedAt time.Time `json:"-"`
}

// Room is a chat room. LastSeq is the seq of its newest stream event, 0
// when it has none.
type Room struct {
	Name      string
	CreatedAt time.Time
	LastSeq   int64
	// Kind is KindPublic, KindPrivate or KindDirect; "" reads as public.
	Kind  string
	Topic string
	// OwnerID and Owner name the owner; both "" for a room without one.
	OwnerID string
	Owner   string
	// MemberCount counts memberships in state member.
	MemberCount int64
	// MsgCount counts the room's messages ever stored (the ord of the
	// newest).
	MsgCount int64
	// LastEventAt is the time of the newest stored event, the room's
	// creation before any.
	LastEventAt time.Time
	// DeletedAt is the time the room was deleted, zero while it lives.
	DeletedAt time.Time
}

// Message is one stored event of a room's stream. Seq numbers a room's
// events 1, 2, 3, … without gaps; Kind tells what the event is.
//
// From and FromID are the user who caused the event: the sender of a
// message, the editor of an edit, and the `by` and `by_id` of a delete, a
// member or a room event. Text is a message's current text (empty once it is
// deleted) or an edit's new text. The fields after Kind that do not apply to
// an event are zero.
type Message struct {
	Room   string
	Seq    int64
	ID     string
	FromID string
	From   string
	Text   string
	TS     time.Time

	// Kind is StreamMessage, StreamEdit, StreamDelete, StreamMember or
	// StreamRoom; "" reads as StreamMessage.
	Kind string `json:",omitzero"`
	// Target is the seq of the message an edit or a delete applies to.
	Target int64 `json:",omitzero"`
	// EditedAt is the time of a message's last edit, zero when never
	// edited.
	EditedAt time.Time `json:",omitzero"`
	// Deleted reports a deleted message; its Text is "".
	Deleted bool `json:",omitzero"`

	// User and UserID name the user a member event concerns.
	User   string `json:",omitzero"`
	UserID string `json:",omitzero"`
	// Change is a member event's change (ChangeInvited, …).
	Change string `json:",omitzero"`
	// Role is the new role of a ChangeRole event.
	Role string `json:",omitzero"`
	// Until is the end of a ChangeMuted event's mute.
	Until time.Time `json:",omitzero"`
	// Reason is the reason a moderator gave, "" when none.
	Reason string `json:",omitzero"`
	// Topic is a room event's new topic.
	Topic string `json:",omitzero"`
}

// EventKind returns m's kind, StreamMessage when Kind is empty.
func (m Message) EventKind() string {
	if m.Kind == "" {
		return StreamMessage
	}
	return m.Kind
}

// IsMessage reports whether m is a chat message rather than another event
// of the stream.
func (m Message) IsMessage() bool { return m.Kind == "" || m.Kind == StreamMessage }

// NewMessage is a stream event about to be stored: a message by default,
// or an edit, a deletion, a member or a room event by Kind. UserID and
// Username are who causes it (the sender, the editor, the `by`). Ref is the
// client's idempotency key, unique per user.
type NewMessage struct {
	Room     string
	UserID   string
	Username string
	Text     string
	Ref      string

	// Kind is "" or StreamMessage for a message, else StreamEdit,
	// StreamDelete, StreamMember or StreamRoom.
	Kind string
	// Target is the seq of the message an edit or a delete applies to.
	Target int64
	// Member and MemberName name the user a member event concerns.
	Member     string
	MemberName string
	// Change is a member event's change; Role the role of ChangeRole (and
	// of ChangeInvited, unused); Until the end of ChangeMuted.
	Change string
	Role   string
	Until  time.Time
	// Reason is the moderator's reason, "" when none.
	Reason string
	// Topic is a room event's new topic.
	Topic string
	// ServerAdmin reports whether a username is a server admin, for a
	// delete of another user's message; nil means nobody is.
	ServerAdmin func(username string) bool
}

// PendingAppend is a stream event queued for storage: Wait returns it as
// stored (with its seq), whether it repeated an earlier ref, or why it was
// not stored.
type PendingAppend interface {
	Wait(ctx context.Context) (msg Message, dup bool, err error)
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
