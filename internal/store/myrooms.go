package store

import (
	"context"
	"fmt"

	"github.com/chatsvc/chat/internal/chat"
)

// myRoomsQuery lists a user's rooms with their unread counts and newest
// live message. Unread is counted without reading the room's history, in
// index seeks:
//   - the messages after the marker: msg_count less the ord of the last
//     message at or before the marker (one step back along the primary key);
//   - less the user's own messages after it: the uord (the user's running
//     count of messages in the room, migration 00006) of their newest
//     message less that of their newest message at or before the marker
//     (two seeks of messages_room_user_seq);
//   - less the other users' deleted messages after it, counted in
//     messages_room_deleted, which holds deleted messages only: its cost
//     follows the deletions after the marker, not the history.
//
// %s is the dialect's condition for a deleted message.
const myRoomsQuery = `SELECT r.name, r.created_at, r.last_seq, r.kind, r.topic, COALESCE(r.owner_id, ''),
COALESCE(o.username, ''), r.member_count, r.msg_count, r.last_event_at, r.deleted_at,
mb.role, mb.state, mb.last_read, COALESCE(mb.hidden_seq, 0),
r.msg_count
 - COALESCE((SELECT m.ord FROM messages m WHERE m.room = r.name AND m.seq <= mb.last_read AND m.kind = 'message'
	ORDER BY m.seq DESC LIMIT 1), 0)
 - COALESCE((SELECT m.uord FROM messages m WHERE m.room = r.name AND m.user_id = mb.user_id AND m.kind = 'message'
	ORDER BY m.seq DESC LIMIT 1), 0)
 + COALESCE((SELECT m.uord FROM messages m WHERE m.room = r.name AND m.user_id = mb.user_id AND m.kind = 'message'
	AND m.seq <= mb.last_read ORDER BY m.seq DESC LIMIT 1), 0)
 - (SELECT count(*) FROM messages m WHERE m.room = r.name AND %[1]s AND m.seq > mb.last_read AND m.user_id <> mb.user_id),
COALESCE(lm.seq, 0), COALESCE(lm.id, ''), COALESCE(lm.user_id, ''), COALESCE(lu.username, ''), COALESCE(lm.text, ''),
lm.ts, lm.edited_at
FROM members mb
JOIN rooms r ON r.name = mb.room
LEFT JOIN users o ON o.id = r.owner_id
LEFT JOIN messages lm ON lm.room = r.name AND lm.seq = (SELECT m.seq FROM messages m
	WHERE m.room = r.name AND m.kind = 'message' AND NOT (%[1]s) ORDER BY m.seq DESC LIMIT 1)
LEFT JOIN users lu ON lu.id = lm.user_id
WHERE mb.user_id = $1 AND mb.state IN ('member', 'invited') AND r.deleted_at IS NULL
ORDER BY r.last_event_at DESC, r.name
LIMIT $2`

// MyRooms returns the rooms the user is a member of or invited to, the most
// recently active first, at most chat.MaxMyRooms: each with the user's role,
// state, read marker, unread count and the newest message that is not
// deleted (for an invitation, 0 and none). A direct room the user left is left out until a message newer
// than the leave is stored in it.
func (db *DB) MyRooms(ctx context.Context, userID string) ([]chat.MyRoom, error) {
	rows, err := db.r.QueryContext(ctx, fmt.Sprintf(myRoomsQuery, db.q.deleted), userID, chat.MaxMyRooms)
	if err != nil {
		return nil, fmt.Errorf("store: my rooms: %w", err)
	}
	defer rows.Close()
	out := []chat.MyRoom{}
	for rows.Next() {
		var (
			mr     chat.MyRoom
			hidden int64
			lm     chat.Message
		)
		dest := append(roomDest(&mr.Room), &mr.Role, &mr.State, &mr.LastRead, &hidden, &mr.Unread,
			&lm.Seq, &lm.ID, &lm.FromID, &lm.From, &lm.Text, msTime{&lm.TS}, msTime{&lm.EditedAt})
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: my rooms: %w", err)
		}
		if hidden > 0 && lm.Seq <= hidden {
			continue
		}
		// An invited user reads nothing of the room before joining.
		if lm.Seq > 0 && mr.State == chat.StateMember {
			lm.Room = mr.Room.Name
			mr.LastMessage = &lm
		}
		if mr.State != chat.StateMember {
			mr.Unread = 0
		}
		out = append(out, mr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: my rooms: %w", err)
	}
	return out, nil
}
