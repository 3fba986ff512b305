package chat

import "time"

// Wire types: the JSON shapes of the public contract, shared by the server
// and its clients.

// UserJSON is the REST shape of a User.
type UserJSON struct {
	ID        string `json:"id"`
	Username  string `json:"username"`
	CreatedAt string `json:"created_at"`
}

// RoomJSON is the REST shape of a Room.
type RoomJSON struct {
	Name        string  `json:"name"`
	CreatedAt   string  `json:"created_at"`
	LastSeq     int64   `json:"last_seq"`
	Kind        string  `json:"kind"`
	Topic       string  `json:"topic"`
	Owner       *string `json:"owner"`
	MemberCount int64   `json:"member_count"`
}

// MessageJSON is the REST shape of a Message of kind message.
type MessageJSON struct {
	Room     string  `json:"room"`
	Seq      int64   `json:"seq"`
	ID       string  `json:"id"`
	From     string  `json:"from"`
	FromID   string  `json:"from_id"`
	Text     string  `json:"text"`
	TS       string  `json:"ts"`
	EditedAt *string `json:"edited_at"`
	Deleted  bool    `json:"deleted"`
}

// MemberUserJSON is the user part of a MemberJSON.
type MemberUserJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// MemberJSON is the REST shape of a Member.
type MemberJSON struct {
	User       MemberUserJSON `json:"user"`
	Role       string         `json:"role"`
	State      string         `json:"state"`
	MutedUntil *string        `json:"muted_until"`
	Since      string         `json:"since"`
}

// MyRoomJSON is the REST shape of a MyRoom.
type MyRoomJSON struct {
	Room        RoomJSON     `json:"room"`
	Role        string       `json:"role"`
	State       string       `json:"state"`
	LastRead    int64        `json:"last_read"`
	Unread      int64        `json:"unread"`
	LastMessage *MessageJSON `json:"last_message"`
}

// TokenPair is the answer to a login or a refresh.
type TokenPair struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

// ErrorBody is the body of every REST error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the code and message of an ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// JSON returns the REST shape of u.
func (u User) JSON() UserJSON {
	return UserJSON{ID: u.ID, Username: u.Username, CreatedAt: FormatTime(u.CreatedAt)}
}

// JSON returns the REST shape of r.
func (r Room) JSON() RoomJSON {
	kind := r.Kind
	if kind == "" {
		kind = KindPublic
	}
	return RoomJSON{
		Name: r.Name, CreatedAt: FormatTime(r.CreatedAt), LastSeq: r.LastSeq,
		Kind: kind, Topic: r.Topic, Owner: optString(r.Owner), MemberCount: r.MemberCount,
	}
}

// JSON returns the REST shape of m, a message.
func (m Message) JSON() MessageJSON {
	return MessageJSON{
		Room: m.Room, Seq: m.Seq, ID: m.ID, From: m.From, FromID: m.FromID, Text: m.Text,
		TS: FormatTime(m.TS), EditedAt: optTime(m.EditedAt), Deleted: m.Deleted,
	}
}

// JSON returns the REST shape of m.
func (m Member) JSON() MemberJSON {
	return MemberJSON{
		User: MemberUserJSON{ID: m.UserID, Username: m.Username},
		Role: m.Role, State: m.State, MutedUntil: optTime(m.MutedUntil), Since: FormatTime(m.Since),
	}
}

// JSON returns the REST shape of r.
func (r MyRoom) JSON() MyRoomJSON {
	out := MyRoomJSON{Room: r.Room.JSON(), Role: r.Role, State: r.State, LastRead: r.LastRead, Unread: r.Unread}
	if r.LastMessage != nil {
		m := r.LastMessage.JSON()
		out.LastMessage = &m
	}
	return out
}

// optString returns nil for "" and &s otherwise.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optTime returns nil for the zero time and the formatted time otherwise.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := FormatTime(t)
	return &s
}
