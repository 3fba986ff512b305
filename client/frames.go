package client

import (
	"encoding/json"
	"fmt"
)

// Event is what a Socket delivers on Events: one of the frame types below
// (pointers), a *Message fetched over REST to fill a truncated replay, or a
// *StateChange.
type Event interface{ event() }

// StreamEvent is an event at a seq of a room's stream: *Message, *Edit,
// *Delete, *MemberEvent and *RoomEvent.
type StreamEvent interface {
	Event
	// Position returns the event's room and seq.
	Position() (room string, seq int64)
}

// Welcome is the first frame of a socket.
type Welcome struct {
	User        MemberUser `json:"user"`
	SessionID   string     `json:"session_id"`
	HeartbeatMS int64      `json:"heartbeat_ms"`
}

// Joined ends a join's replay.
type Joined struct {
	Room      string   `json:"room"`
	LastSeq   int64    `json:"last_seq"`
	Replayed  int      `json:"replayed"`
	Truncated bool     `json:"truncated"`
	Members   []string `json:"members"`
}

// Left tells that the socket is out of a room: Reason is empty for the
// answer to its own leave, else kicked, banned, left (a REST leave) or
// room_deleted.
type Left struct {
	Room   string `json:"room"`
	Reason string `json:"reason,omitempty"`
}

// Ack confirms that a send, edit or delete is stored.
type Ack struct {
	Ref  string `json:"ref"`
	Room string `json:"room"`
	ID   string `json:"id"`
	Seq  int64  `json:"seq"`
	TS   string `json:"ts"`
}

// Edit is a message's new text, at its own seq; Target is the message's.
type Edit struct {
	Room   string `json:"room"`
	Seq    int64  `json:"seq"`
	Target int64  `json:"target"`
	Text   string `json:"text"`
	From   string `json:"from"`
	FromID string `json:"from_id"`
	TS     string `json:"ts"`
}

// Delete is a message's deletion, at its own seq.
type Delete struct {
	Room   string `json:"room"`
	Seq    int64  `json:"seq"`
	Target int64  `json:"target"`
	By     string `json:"by"`
	ByID   string `json:"by_id"`
	TS     string `json:"ts"`
}

// Member changes.
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

// MemberEvent is a change of a room's membership, in its stream.
type MemberEvent struct {
	Room   string  `json:"room"`
	Seq    int64   `json:"seq"`
	User   string  `json:"user"`
	UserID string  `json:"user_id"`
	Change string  `json:"change"`
	Role   *string `json:"role"`
	Until  *string `json:"until"`
	By     *string `json:"by"`
	Reason *string `json:"reason"`
	TS     string  `json:"ts"`
}

// RoomEvent is a change of a room's topic, in its stream.
type RoomEvent struct {
	Room  string `json:"room"`
	Seq   int64  `json:"seq"`
	Topic string `json:"topic"`
	By    string `json:"by"`
	TS    string `json:"ts"`
}

// Presence tells that a user's first socket joined a room (Event "join")
// or the last one left ("leave").
type Presence struct {
	Room   string `json:"room"`
	User   string `json:"user"`
	UserID string `json:"user_id"`
	Event  string `json:"event"`
}

// Typing tells that a user is typing in a room.
type Typing struct {
	Room   string `json:"room"`
	From   string `json:"from"`
	FromID string `json:"from_id"`
}

// Read tells that the user's read marker in a room moved to Seq.
type Read struct {
	Room string `json:"room"`
	Seq  int64  `json:"seq"`
}

// Receipt tells that another member read a room up to Seq.
type Receipt struct {
	Room   string `json:"room"`
	User   string `json:"user"`
	UserID string `json:"user_id"`
	Seq    int64  `json:"seq"`
}

// Invited tells the user they were invited to a room.
type Invited struct {
	Room string `json:"room"`
	By   string `json:"by"`
}

// Authed answers an auth frame.
type Authed struct {
	ExpiresAt string `json:"expires_at"`
}

func (*Welcome) event()     {}
func (*Joined) event()      {}
func (*Left) event()        {}
func (*Ack) event()         {}
func (*Message) event()     {}
func (*Edit) event()        {}
func (*Delete) event()      {}
func (*MemberEvent) event() {}
func (*RoomEvent) event()   {}
func (*Presence) event()    {}
func (*Typing) event()      {}
func (*Read) event()        {}
func (*Receipt) event()     {}
func (*Invited) event()     {}
func (*Authed) event()      {}
func (*FrameError) event()  {}

// Position returns the message's room and seq.
func (m *Message) Position() (string, int64) { return m.Room, m.Seq }

// Position returns the edit's room and seq.
func (e *Edit) Position() (string, int64) { return e.Room, e.Seq }

// Position returns the deletion's room and seq.
func (e *Delete) Position() (string, int64) { return e.Room, e.Seq }

// Position returns the change's room and seq.
func (e *MemberEvent) Position() (string, int64) { return e.Room, e.Seq }

// Position returns the change's room and seq.
func (e *RoomEvent) Position() (string, int64) { return e.Room, e.Seq }

// frameTypes makes the event of each server frame type.
var frameTypes = map[string]func() Event{
	"welcome":  func() Event { return &Welcome{} },
	"joined":   func() Event { return &Joined{} },
	"left":     func() Event { return &Left{} },
	"ack":      func() Event { return &Ack{} },
	"message":  func() Event { return &Message{} },
	"edit":     func() Event { return &Edit{} },
	"delete":   func() Event { return &Delete{} },
	"member":   func() Event { return &MemberEvent{} },
	"room":     func() Event { return &RoomEvent{} },
	"presence": func() Event { return &Presence{} },
	"typing":   func() Event { return &Typing{} },
	"read":     func() Event { return &Read{} },
	"receipt":  func() Event { return &Receipt{} },
	"invited":  func() Event { return &Invited{} },
	"authed":   func() Event { return &Authed{} },
	"error":    func() Event { return &FrameError{} },
}

// DecodeFrame decodes one server frame and returns its ref ("" when it
// has none). A frame of a type this package does not know is nil with no
// error.
func DecodeFrame(data []byte) (Event, string, error) {
	var head struct {
		Type string `json:"type"`
		Ref  string `json:"ref"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, "", fmt.Errorf("decode frame: %w", err)
	}
	mk := frameTypes[head.Type]
	if mk == nil {
		return nil, head.Ref, nil
	}
	ev := mk()
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, head.Ref, fmt.Errorf("decode %s frame: %w", head.Type, err)
	}
	return ev, head.Ref, nil
}

// outFrame is a client-to-server frame.
type outFrame struct {
	Type  string `json:"type"`
	Room  string `json:"room,omitempty"`
	Since *int64 `json:"since,omitempty"`
	Seq   *int64 `json:"seq,omitempty"`
	Text  string `json:"text,omitempty"`
	Ref   string `json:"ref,omitempty"`
	Token string `json:"token,omitempty"`
}
