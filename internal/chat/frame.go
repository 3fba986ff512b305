package chat

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Frame types of the WebSocket protocol.
const (
	TypeJoin     = "join"
	TypeLeave    = "leave"
	TypeSend     = "send"
	TypeTyping   = "typing"
	TypeAuth     = "auth"
	TypeWelcome  = "welcome"
	TypeJoined   = "joined"
	TypeLeft     = "left"
	TypeAck      = "ack"
	TypeMessage  = "message"
	TypePresence = "presence"
	TypeAuthed   = "authed"
	TypeError    = "error"
)

// Presence events.
const (
	PresenceJoin  = "join"
	PresenceLeave = "leave"
)

// ClientFrame is a decoded client-to-server frame.
type ClientFrame struct {
	Type  string  `json:"type"`
	Room  string  `json:"room"`
	Since *int64  `json:"since"`
	Text  *string `json:"text"`
	Ref   string  `json:"ref"`
	Token string  `json:"token"`
	// Seq is the target message of an edit or delete, or the read marker
	// of a read.
	Seq *int64 `json:"seq"`
}

// frameEcho is the part of a malformed frame still worth echoing.
type frameEcho struct {
	Ref  any `json:"ref"`
	Room any `json:"room"`
}

// echo sets f's Ref and Room from data, one well-formed JSON value, when
// they are strings and well formed.
func echo(f *ClientFrame, data []byte) {
	var e frameEcho
	_ = json.Unmarshal(data, &e)
	if s, ok := e.Ref.(string); ok && ValidRef(s) {
		f.Ref = s
	}
	if s, ok := e.Room.(string); ok {
		if r, err := NormalizeRoom(s); err == nil {
			f.Room = r
		}
	}
}

// echoRoom returns the room of a frame whose type takes none, normalized
// when it is well formed and "" otherwise, so an error never echoes a room
// the protocol would refuse.
func echoRoom(s string) string {
	if s == "" {
		return ""
	}
	r, _ := NormalizeRoom(s)
	return r
}

// onlySpace reports whether b holds nothing but JSON white space.
func onlySpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// DecodeFrame decodes and checks one client frame. On error the returned
// frame still carries the ref and room when they could be read and are well
// formed, so the error frame can echo them. Every error is an *Error with
// CodeBadRequest or CodeInvalidRoom.
func DecodeFrame(data []byte) (ClientFrame, error) {
	var f ClientFrame
	d := json.NewDecoder(bytes.NewReader(data))
	// Only white space may follow the object: Decoder.More alone lets a
	// stray closing bracket through.
	if err := d.Decode(&f); err != nil || !onlySpace(data[d.InputOffset():]) {
		f = ClientFrame{}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && onlySpace(data[d.InputOffset():]) {
			// One well-formed JSON value with a field of the wrong type:
			// read what ref and room hold as any JSON value, so a ref or
			// room given last as a non-string is not echoed.
			echo(&f, data)
		}
		// Anything else (a syntax error, an empty or cut-short frame, data
		// after the value) is not one JSON value: nothing can be echoed.
		return f, Errorf(CodeBadRequest, "frame is not a valid JSON object of the protocol")
	}
	if f.Ref != "" && !ValidRef(f.Ref) {
		f.Ref = ""
		f.Room, _ = NormalizeRoom(f.Room)
		return f, Errorf(CodeBadRequest, "ref must be 1 to 64 printable ASCII characters")
	}
	switch f.Type {
	case TypeJoin, TypeLeave, TypeSend, TypeTyping, StreamEdit, StreamDelete, TypeRead:
		if f.Room == "" {
			return f, Errorf(CodeBadRequest, "room is required")
		}
		r, err := NormalizeRoom(f.Room)
		if err != nil {
			f.Room = ""
			return f, err
		}
		f.Room = r
	case TypeAuth:
		f.Room = echoRoom(f.Room)
		if f.Token == "" {
			return f, Errorf(CodeBadRequest, "token is required")
		}
	case "":
		f.Room = echoRoom(f.Room)
		return f, Errorf(CodeBadRequest, "type is required")
	default:
		f.Room = echoRoom(f.Room)
		return f, Errorf(CodeBadRequest, "unknown frame type")
	}
	switch f.Type {
	case TypeJoin:
		if f.Since != nil && *f.Since < 0 {
			return f, Errorf(CodeBadRequest, "since must be an integer >= 0")
		}
	case TypeSend:
		if f.Ref == "" {
			return f, Errorf(CodeBadRequest, "ref is required")
		}
		if f.Text == nil {
			return f, Errorf(CodeBadRequest, "text is required")
		}
	case StreamEdit, StreamDelete:
		if f.Ref == "" {
			return f, Errorf(CodeBadRequest, "ref is required")
		}
		if f.Seq == nil || *f.Seq < 1 {
			return f, Errorf(CodeBadRequest, "seq must be a message's seq, an integer >= 1")
		}
		if f.Type == StreamEdit && f.Text == nil {
			return f, Errorf(CodeBadRequest, "text is required")
		}
	case TypeRead:
		if f.Seq == nil || *f.Seq < 0 {
			return f, Errorf(CodeBadRequest, "seq must be an integer >= 0")
		}
	}
	return f, nil
}

// WelcomeFrame is the first frame the server sends.
type WelcomeFrame struct {
	Type        string      `json:"type"`
	User        WelcomeUser `json:"user"`
	SessionID   string      `json:"session_id"`
	HeartbeatMS int64       `json:"heartbeat_ms"`
}

// WelcomeUser is the user part of a WelcomeFrame.
type WelcomeUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// JoinedFrame ends a join's replay.
type JoinedFrame struct {
	Type      string   `json:"type"`
	Room      string   `json:"room"`
	LastSeq   int64    `json:"last_seq"`
	Replayed  int      `json:"replayed"`
	Truncated bool     `json:"truncated"`
	Members   []string `json:"members"`
	Ref       string   `json:"ref,omitempty"`
}

// LeftFrame answers a leave.
type LeftFrame struct {
	Type string `json:"type"`
	Room string `json:"room"`
	Ref  string `json:"ref,omitempty"`
	// Reason says why the server took the socket out of the room (kicked,
	// banned, left, room_deleted); empty for the answer to a leave frame.
	Reason string `json:"reason,omitempty"`
}

// TypeInvited is the type of InvitedFrame.
const TypeInvited = "invited"

// InvitedFrame tells every socket of a user that they were invited to a
// private room.
type InvitedFrame struct {
	Type string `json:"type"`
	Room string `json:"room"`
	By   string `json:"by"`
}

// JoinResult is what a WebSocket join did to the room and its members.
type JoinResult struct {
	Room   Room
	Member Member
	// Created reports a room made by this join.
	Created bool
	// Event is the stored member event joined of an invited user (or a
	// server admin) entering a private room; nil when none was stored.
	Event *Message
}

// AckFrame confirms a send was durably stored.
type AckFrame struct {
	Type string `json:"type"`
	Ref  string `json:"ref"`
	Room string `json:"room"`
	ID   string `json:"id"`
	Seq  int64  `json:"seq"`
	TS   string `json:"ts"`
}

// MessageFrame carries one stored message to a member. A replayed message
// shows its current state: EditedAt when it was edited, Deleted (with an
// empty Text) when it was deleted; both are left out otherwise, as in a
// live message.
type MessageFrame struct {
	Type     string  `json:"type"`
	Room     string  `json:"room"`
	Seq      int64   `json:"seq"`
	ID       string  `json:"id"`
	From     string  `json:"from"`
	FromID   string  `json:"from_id"`
	Text     string  `json:"text"`
	TS       string  `json:"ts"`
	EditedAt *string `json:"edited_at,omitempty"`
	Deleted  bool    `json:"deleted,omitempty"`
}

// PresenceFrame tells a room a user arrived or left.
type PresenceFrame struct {
	Type   string `json:"type"`
	Room   string `json:"room"`
	User   string `json:"user"`
	UserID string `json:"user_id"`
	Event  string `json:"event"`
}

// TypingFrame tells a room a user is typing.
type TypingFrame struct {
	Type   string `json:"type"`
	Room   string `json:"room"`
	From   string `json:"from"`
	FromID string `json:"from_id"`
}

// AuthedFrame answers an auth frame.
type AuthedFrame struct {
	Type      string `json:"type"`
	ExpiresAt string `json:"expires_at"`
	Ref       string `json:"ref,omitempty"`
}

// ErrorFrame reports a failed command; the socket stays open.
type ErrorFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
	Room    string `json:"room,omitempty"`
}

// NewMessageFrame returns the frame that delivers m in its current state:
// with edited_at once edited, deleted (and no text) once deleted.
func NewMessageFrame(m Message) MessageFrame {
	return MessageFrame{
		Type: TypeMessage, Room: m.Room, Seq: m.Seq, ID: m.ID, From: m.From, FromID: m.FromID, Text: m.Text,
		TS: FormatTime(m.TS), EditedAt: optTime(m.EditedAt), Deleted: m.Deleted,
	}
}
