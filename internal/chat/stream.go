package chat

// Frames of the stream events beside message (v2).

// EditFrame carries a stored edit.
type EditFrame struct {
	Type   string `json:"type"`
	Room   string `json:"room"`
	Seq    int64  `json:"seq"`
	Target int64  `json:"target"`
	Text   string `json:"text"`
	From   string `json:"from"`
	FromID string `json:"from_id"`
	TS     string `json:"ts"`
}

// DeleteFrame carries a stored deletion.
type DeleteFrame struct {
	Type   string `json:"type"`
	Room   string `json:"room"`
	Seq    int64  `json:"seq"`
	Target int64  `json:"target"`
	By     string `json:"by"`
	ByID   string `json:"by_id"`
	TS     string `json:"ts"`
}

// MemberFrame carries a stored membership change. Fields that do not apply
// are null.
type MemberFrame struct {
	Type   string  `json:"type"`
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

// RoomFrame carries a stored topic change.
type RoomFrame struct {
	Type  string  `json:"type"`
	Room  string  `json:"room"`
	Seq   int64   `json:"seq"`
	Topic string  `json:"topic"`
	By    *string `json:"by"`
	TS    string  `json:"ts"`
}

// StreamFrame returns the frame that delivers the stream event m: a
// MessageFrame, EditFrame, DeleteFrame, MemberFrame or RoomFrame by m's
// kind.
func StreamFrame(m Message) any {
	ts := FormatTime(m.TS)
	switch m.EventKind() {
	case StreamEdit:
		return EditFrame{Type: StreamEdit, Room: m.Room, Seq: m.Seq, Target: m.Target, Text: m.Text, From: m.From, FromID: m.FromID, TS: ts}
	case StreamDelete:
		return DeleteFrame{Type: StreamDelete, Room: m.Room, Seq: m.Seq, Target: m.Target, By: m.From, ByID: m.FromID, TS: ts}
	case StreamMember:
		return MemberFrame{
			Type: StreamMember, Room: m.Room, Seq: m.Seq, User: m.User, UserID: m.UserID, Change: m.Change,
			Role: optString(m.Role), Until: optTime(m.Until), By: optString(m.From), Reason: optString(m.Reason), TS: ts,
		}
	case StreamRoom:
		return RoomFrame{Type: StreamRoom, Room: m.Room, Seq: m.Seq, Topic: m.Topic, By: optString(m.From), TS: ts}
	}
	return NewMessageFrame(m)
}
