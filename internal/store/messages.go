package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/chatsvc/chat/internal/chat"
)

// messageSelect reads stream events in their current state. The id of an
// edit or delete is the id of the message it applies to.
const messageSelect = `SELECT m.room, m.seq, COALESCE(t.id, m.id), m.user_id, u.username, m.text, m.ts,
m.kind, COALESCE(m.target, 0), m.data, m.edited_at, m.deleted
FROM messages m JOIN users u ON u.id = m.user_id
LEFT JOIN messages t ON t.room = m.room AND t.seq = m.target `

// History returns the newest limit messages (events of kind message only,
// in their current state) of room with seq < before (before <= 0: no
// bound), oldest first, and reports whether older ones exist. A room that was never created is chat.ErrNotFound; one without
// messages gives an empty, non-nil slice.
func (db *DB) History(ctx context.Context, room string, before int64, limit int) ([]chat.Message, bool, error) {
	limit, err := readLimit(limit)
	if err != nil {
		return nil, false, err
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	msgs, err := db.newest(ctx, room, limit+1,
		messageSelect+`WHERE m.room = $1 AND m.seq < $2 AND m.kind = 'message' ORDER BY m.seq DESC LIMIT $3`,
		room, before, limit+1)
	if err != nil {
		return nil, false, wrap("history", err)
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[1:]
	}
	return msgs, more, nil
}

// After returns the stream events of every kind of room with seq > after,
// and seq <= upTo when upTo > 0, oldest first, messages in their current
// state. When more than limit of them exist it returns the
// newest limit and truncated = true: the caller pages the older ones with
// History. A room that was never created is chat.ErrNotFound.
func (db *DB) After(ctx context.Context, room string, after, upTo int64, limit int) ([]chat.Message, bool, error) {
	limit, err := readLimit(limit)
	if err != nil {
		return nil, false, err
	}
	if upTo <= 0 {
		upTo = math.MaxInt64
	}
	msgs, err := db.newest(ctx, room, limit+1,
		messageSelect+`WHERE m.room = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq DESC LIMIT $4`,
		room, after, upTo, limit+1)
	if err != nil {
		return nil, false, wrap("messages after", err)
	}
	truncated := len(msgs) > limit
	if truncated {
		msgs = msgs[1:]
	}
	return msgs, truncated, nil
}

// newest runs a query that returns messages newest first and returns them
// oldest first. An empty result for a room that does not exist is
// chat.ErrNotFound.
func (db *DB) newest(ctx context.Context, room string, capHint int, query string, args ...any) ([]chat.Message, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	msgs, err := scanMessages(rows, min(capHint, 256))
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		if _, err := db.Room(ctx, room); err != nil {
			return nil, err
		}
	}
	slices.Reverse(msgs)
	return msgs, nil
}

func scanMessages(rows *sql.Rows, capHint int) ([]chat.Message, error) {
	defer rows.Close()
	msgs := make([]chat.Message, 0, capHint)
	for rows.Next() {
		var (
			m    chat.Message
			data sql.NullString
		)
		if err := rows.Scan(&m.Room, &m.Seq, &m.ID, &m.FromID, &m.From, &m.Text, msTime{&m.TS},
			&m.Kind, &m.Target, &data, msTime{&m.EditedAt}, &m.Deleted); err != nil {
			return nil, err
		}
		if m.Kind == chat.StreamMessage {
			m.Kind = ""
		}
		if data.Valid {
			var d eventData
			if err := json.Unmarshal([]byte(data.String), &d); err != nil {
				return nil, fmt.Errorf("event %s/%d data: %w", m.Room, m.Seq, err)
			}
			d.fill(&m)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return msgs, nil
}

// wrap returns a *chat.Error as it is and wraps any other error with the
// operation.
func wrap(op string, err error) error {
	var ce *chat.Error
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// MessageBySeq returns the stream event of room at seq in its current
// state; chat.ErrMessageNotFound when there is none.
func (db *DB) MessageBySeq(ctx context.Context, room string, seq int64) (chat.Message, error) {
	rows, err := db.r.QueryContext(ctx, messageSelect+`WHERE m.room = $1 AND m.seq = $2`, room, seq)
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: message by seq: %w", err)
	}
	msgs, err := scanMessages(rows, 1)
	if err != nil {
		return chat.Message{}, fmt.Errorf("store: message by seq: %w", err)
	}
	if len(msgs) == 0 {
		return chat.Message{}, chat.ErrMessageNotFound
	}
	return msgs[0], nil
}
