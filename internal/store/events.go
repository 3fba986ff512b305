package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/chatsvc/chat/internal/chat"
)

// eventData is the JSON of the data column of member and room events.
type eventData struct {
	User    string  `json:"user,omitempty"`
	UserID  string  `json:"user_id,omitempty"`
	Change  string  `json:"change,omitempty"`
	Role    string  `json:"role,omitempty"`
	UntilMS int64   `json:"until,omitempty"` // unix milliseconds
	Reason  string  `json:"reason,omitempty"`
	Topic   *string `json:"topic,omitempty"`
}

// fill copies the fields of d into m.
func (d eventData) fill(m *chat.Message) {
	m.User, m.UserID, m.Change, m.Role, m.Reason = d.User, d.UserID, d.Change, d.Role, d.Reason
	if d.UntilMS != 0 {
		m.Until = time.UnixMilli(d.UntilMS).UTC()
	}
	if d.Topic != nil {
		m.Topic = *d.Topic
	}
}

// applyFunc writes an event's effects once its seq is known.
type applyFunc func(seq int64) error

// storeEvent checks and stores one event that is not a message in tx: it
// takes the room's next seq, inserts the event and applies its effects. A
// refused event is a *chat.Error; an event that would change nothing (an
// invitation of a member, say) is stored not at all and returns a Message
// with Seq 0. moderated reports a delete of another user's message.
func (db *DB) storeEvent(ctx context.Context, tx *sql.Tx, m chat.NewMessage, now time.Time) (_ chat.Message, moderated bool, _ error) {
	out := chat.Message{Room: m.Room, FromID: m.UserID, From: m.Username, TS: now, Kind: m.Kind}
	var (
		apply applyFunc
		data  *eventData
		err   error
	)
	switch m.Kind {
	case chat.StreamEdit, chat.StreamDelete:
		out.Target = m.Target
		var author string
		out.ID, author, apply, err = db.planMessageChange(ctx, tx, m, now)
		moderated = m.Kind == chat.StreamDelete && author != m.UserID
		if m.Kind == chat.StreamEdit {
			out.Text = m.Text
		}
	case chat.StreamMember:
		apply, err = db.planMember(ctx, tx, m, now)
		data = &eventData{User: m.MemberName, UserID: m.Member, Change: m.Change, Role: m.Role, Reason: m.Reason}
		if !m.Until.IsZero() {
			data.UntilMS = m.Until.UnixMilli()
		}
	case chat.StreamRoom:
		topic := m.Topic
		data = &eventData{Topic: &topic}
		apply = func(int64) error {
			_, err := tx.ExecContext(ctx, `UPDATE rooms SET topic = $2 WHERE name = $1`, m.Room, m.Topic)
			return err
		}
	default:
		return chat.Message{}, false, chat.Errorf(chat.CodeInvalidRequest, "unknown event kind %q", m.Kind)
	}
	if err != nil || apply == nil {
		return chat.Message{}, false, err
	}
	if err := tx.QueryRowContext(ctx,
		`UPDATE rooms SET last_seq = last_seq + 1, last_event_at = $2 WHERE name = $1 RETURNING last_seq`,
		m.Room, db.arg(now)).Scan(&out.Seq); err != nil {
		return chat.Message{}, false, fmt.Errorf("assign seq: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("new event id: %w", err)
	}
	if out.ID == "" {
		out.ID = id.String()
	}
	var dataJSON sql.NullString
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return chat.Message{}, false, err
		}
		dataJSON = sql.NullString{String: string(b), Valid: true}
		data.fill(&out)
	}
	target := sql.NullInt64{Int64: m.Target, Valid: m.Target > 0}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (room, seq, id, user_id, text, ts, ref, kind, target, data)
VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9, $10)`,
		m.Room, out.Seq, id.String(), m.UserID, out.Text, db.arg(now), m.Ref, m.Kind, target, dataJSON); err != nil {
		return chat.Message{}, false, fmt.Errorf("insert event: %w", err)
	}
	if err := apply(out.Seq); err != nil {
		return chat.Message{}, false, fmt.Errorf("apply event: %w", err)
	}
	return out, moderated, nil
}

// planMessageChange checks that an edit or delete targets a live message of
// the room (and, for an edit, one of the editor; for a delete, one the
// deleter may delete) and returns the message's id, its author's user id
// and the update. A delete clears the text of the message and of its edits
// from storage.
func (db *DB) planMessageChange(ctx context.Context, tx *sql.Tx, m chat.NewMessage, now time.Time) (id, author string, _ applyFunc, _ error) {
	var (
		kind    string
		deleted bool
	)
	err := tx.QueryRowContext(ctx, `SELECT id, user_id, kind, deleted FROM messages WHERE room = $1 AND seq = $2`,
		m.Room, m.Target).Scan(&id, &author, &kind, &deleted)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (kind != chat.StreamMessage || deleted) {
		return "", "", nil, chat.ErrMessageNotFound
	}
	if err != nil {
		return "", "", nil, err
	}
	if m.Kind == chat.StreamEdit {
		if author != m.UserID {
			return "", "", nil, chat.ErrForbidden
		}
		return id, author, func(int64) error {
			_, err := tx.ExecContext(ctx, `UPDATE messages SET text = $3, edited_at = $4 WHERE room = $1 AND seq = $2`,
				m.Room, m.Target, m.Text, db.arg(now))
			return err
		}, nil
	}
	if err := mayDelete(ctx, tx, m, author, now); err != nil {
		return "", "", nil, err
	}
	return id, author, func(int64) error {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = '', deleted = $3 WHERE room = $1 AND seq = $2`,
			m.Room, m.Target, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET text = '' WHERE room = $1 AND kind = 'edit' AND target = $2`,
			m.Room, m.Target)
		return err
	}, nil
}

// membership reads a user's membership row in tx; state "" when none.
func membership(ctx context.Context, tx *sql.Tx, room, userID string) (role, state string, mutedUntil time.Time, err error) {
	err = tx.QueryRowContext(ctx, `SELECT role, state, muted_until FROM members WHERE room = $1 AND user_id = $2`,
		room, userID).Scan(&role, &state, msTime{&mutedUntil})
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", time.Time{}, nil
	}
	return role, state, mutedUntil, err
}
