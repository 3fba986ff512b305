package client

import "time"

// TimeLayout is the layout of every time the service sends.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Room kinds.
const (
	KindPublic  = "public"
	KindPrivate = "private"
	KindDirect  = "direct"
)

// Member roles and states.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"

	StateMember  = "member"
	StateInvited = "invited"
	StateBanned  = "banned"
)

// User is an account.
type User struct {
	ID        string `json:"id"`
	Username  string `json:"username"`
	CreatedAt string `json:"created_at,omitempty"`
}

// TokenPair is the answer of login and refresh.
type TokenPair struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

// Tokens is a session as a Client keeps it: the current pair, and when the
// access token expires by this machine's clock.
type Tokens struct {
	Access  string    `json:"access_token"`
	Refresh string    `json:"refresh_token"`
	Expiry  time.Time `json:"expiry"`
}

// Room is a room as the REST API describes it.
type Room struct {
	Name        string  `json:"name"`
	CreatedAt   string  `json:"created_at"`
	LastSeq     int64   `json:"last_seq"`
	Kind        string  `json:"kind"`
	Topic       string  `json:"topic"`
	Owner       *string `json:"owner"`
	MemberCount int     `json:"member_count"`
}

// Message is a stored message; a deleted one has Deleted set and no text.
type Message struct {
	Room     string  `json:"room"`
	Seq      int64   `json:"seq"`
	ID       string  `json:"id"`
	From     string  `json:"from"`
	FromID   string  `json:"from_id"`
	Text     string  `json:"text"`
	TS       string  `json:"ts"`
	EditedAt *string `json:"edited_at,omitempty"`
	Deleted  bool    `json:"deleted,omitempty"`
	// FromHistory is set on a message a Socket fetched over REST to fill
	// a truncated replay, rather than received on the socket.
	FromHistory bool `json:"-"`
}

// MemberUser is the user part of a Member.
type MemberUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// Member is a user's membership of a room.
type Member struct {
	User       MemberUser `json:"user"`
	Role       string     `json:"role"`
	State      string     `json:"state"`
	MutedUntil *string    `json:"muted_until"`
	Since      string     `json:"since"`
}

// RoomInfo is the answer of GET /api/v1/rooms/{room}: the room, and the
// caller's membership when there is one.
type RoomInfo struct {
	Room       Room    `json:"room"`
	Membership *Member `json:"membership"`
}

// MyRoom is a room of the caller with its read state.
type MyRoom struct {
	Room        Room     `json:"room"`
	Role        string   `json:"role"`
	State       string   `json:"state"`
	LastRead    int64    `json:"last_read"`
	Unread      int      `json:"unread"`
	LastMessage *Message `json:"last_message"`
}

// RoomsPage is one page of the room list; Next is nil on the last page.
type RoomsPage struct {
	Rooms []Room  `json:"rooms"`
	Next  *string `json:"next"`
}

// MessagesPage is one page of a room's history, oldest first.
type MessagesPage struct {
	Messages []Message `json:"messages"`
	HasMore  bool      `json:"has_more"`
}

// MembersPage is one page of a room's members; Next is nil on the last.
type MembersPage struct {
	Members []Member `json:"members"`
	Next    *string  `json:"next"`
}

// SearchPage is one page of search results, newest first; Next is the ID
// to pass as Before for older ones, nil when there are none.
type SearchPage struct {
	Results []Message `json:"results"`
	Next    *string   `json:"next"`
}

// SearchQuery is what Search looks for: messages containing every word of
// Q, in Room when set, older than the message Before when set; Limit 0
// means the server's default.
type SearchQuery struct {
	Q      string
	Room   string
	Before string
	Limit  int
}
