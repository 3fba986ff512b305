package chat

import "time"

// Room kinds.
const (
	KindPublic  = "public"
	KindPrivate = "private"
	KindDirect  = "direct"
)

// Roles of a room's members, from the highest rank to the lowest.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Membership states.
const (
	StateMember  = "member"
	StateInvited = "invited"
	StateBanned  = "banned"
)

// Kinds of the stored events of a room's stream.
const (
	StreamMessage = "message"
	StreamEdit    = "edit"
	StreamDelete  = "delete"
	StreamMember  = "member"
	StreamRoom    = "room"
)

// Changes of a member event.
const (
	ChangeInvited  = "invited"
	ChangeJoined   = "joined"
	ChangeLeft     = "left"
	ChangeKicked   = "kicked"
	ChangeBanned   = "banned"
	ChangeUnbanned = "unbanned"
	ChangeMuted    = "muted"
	ChangeUnmuted  = "unmuted"
	ChangeRole     = "role"
)

// Reasons of the left frame a socket gets when it is taken out of a room.
const (
	LeftKicked      = "kicked"
	LeftBanned      = "banned"
	LeftLeft        = "left"
	LeftRoomDeleted = "room_deleted"
)

// MaxMyRooms bounds the rooms of GET /api/v1/me/rooms.
const MaxMyRooms = 1000

// Member is a user's membership of a room. A user with no row has the zero
// Member (State "").
type Member struct {
	Room     string
	UserID   string
	Username string
	Role     string
	State    string
	// MutedUntil is the end of a mute, zero when not muted.
	MutedUntil time.Time
	// Since is the time the membership reached its current state.
	Since time.Time
	// LastRead is the seq up to which the user has read the room.
	LastRead int64
	// HiddenSeq, when above 0, hides a direct room from the user until an
	// event with a higher seq is stored.
	HiddenSeq int64
}

// Joined reports whether m is a membership in state member.
func (m Member) Joined() bool { return m.State == StateMember }

// Muted reports whether m is muted at now.
func (m Member) Muted(now time.Time) bool { return now.Before(m.MutedUntil) }

// MyRoom is a room as one of its members sees it in their room list.
type MyRoom struct {
	Room     Room
	Role     string
	State    string
	LastRead int64
	// Unread counts the messages after LastRead that are neither the
	// user's own nor deleted.
	Unread int64
	// LastMessage is the newest message that is not deleted; nil when none.
	LastMessage *Message
}

// Rank orders roles: owner 3, admin 2, member 1, anything else 0.
func Rank(role string) int {
	switch role {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// serverAdminRank is the rank of a server admin: above every room role.
const serverAdminRank = 4

// DMKey returns the key naming the direct room of two users: their ids,
// sorted, joined by a space.
func DMKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + " " + b
}
