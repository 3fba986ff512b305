package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// roomSelect reads rooms with their owner's username.
const roomSelect = `SELECT r.name, r.created_at, r.last_seq, r.kind, r.topic, COALESCE(r.owner_id, ''),
COALESCE(o.username, ''), r.member_count, r.msg_count, r.last_event_at, r.deleted_at
FROM rooms r LEFT JOIN users o ON o.id = r.owner_id `

// roomDest returns the scan destinations of roomSelect's columns into r.
func roomDest(r *chat.Room) []any {
	return []any{&r.Name, msTime{&r.CreatedAt}, &r.LastSeq, &r.Kind, &r.Topic, &r.OwnerID,
		&r.Owner, &r.MemberCount, &r.MsgCount, msTime{&r.LastEventAt}, msTime{&r.DeletedAt}}
}

// EnsureRoom returns the room with the given name, creating it as a public
// room without an owner when it does not exist. The name must already be
// normalised (chat.NormalizeRoom).
func (db *DB) EnsureRoom(ctx context.Context, name string) (chat.Room, error) {
	r, err := db.room(ctx, db.r, name)
	if !errors.Is(err, chat.ErrNotFound) {
		return r, err
	}
	now := db.arg(time.Now())
	_, err = db.w.ExecContext(ctx,
		`INSERT INTO rooms (name, created_at, last_seq, last_event_at) VALUES ($1, $2, 0, $2) ON CONFLICT (name) DO NOTHING`,
		name, now)
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: create room: %w", err)
	}
	return db.room(ctx, db.w, name)
}

// Room returns the room with the given name, a deleted one included (with
// DeletedAt set); chat.ErrNotFound when it was never created.
func (db *DB) Room(ctx context.Context, name string) (chat.Room, error) {
	return db.room(ctx, db.r, name)
}

func (db *DB) room(ctx context.Context, q *sql.DB, name string) (chat.Room, error) {
	var r chat.Room
	err := q.QueryRowContext(ctx, roomSelect+`WHERE r.name = $1`, name).Scan(roomDest(&r)...)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Room{}, chat.ErrNotFound
	}
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: room: %w", err)
	}
	return r, nil
}

// CreateRoom creates a public or private room with owner as its owner and
// only member. chat.ErrRoomExists when any room, deleted ones included,
// holds the name.
func (db *DB) CreateRoom(ctx context.Context, name, kind, topic string, owner chat.User) (chat.Room, error) {
	now := truncMS(time.Now())
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: create room: %w", err)
	}
	defer rollback(tx)
	_, err = tx.ExecContext(ctx, `INSERT INTO rooms (name, created_at, last_seq, kind, topic, owner_id, last_event_at, member_count)
VALUES ($1, $2, 0, $3, $4, $5, $2, 1)`, name, db.arg(now), kind, topic, owner.ID)
	if isUnique(err) {
		return chat.Room{}, chat.ErrRoomExists
	}
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: create room: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO members (room, user_id, role, state, since, last_read)
VALUES ($1, $2, 'owner', 'member', $3, 0)`, name, owner.ID, db.arg(now)); err != nil {
		return chat.Room{}, fmt.Errorf("store: create room: owner: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return chat.Room{}, fmt.Errorf("store: create room: commit: %w", err)
	}
	return chat.Room{Name: name, CreatedAt: now, Kind: kind, Topic: topic, OwnerID: owner.ID, Owner: owner.Username,
		MemberCount: 1, LastEventAt: now}, nil
}

// DeleteRoom deletes a room for good: its messages and members are
// removed, and its row stays, marked deleted, so that the name is never
// used again. It returns the ids of the users who were members.
func (db *DB) DeleteRoom(ctx context.Context, name string) ([]string, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: delete room: %w", err)
	}
	defer rollback(tx)
	// The update locks the room's row first, so appends wait for it and
	// then find the room deleted.
	res, err := tx.ExecContext(ctx, `UPDATE rooms SET deleted_at = $2, owner_id = NULL, member_count = 0, topic = ''
WHERE name = $1 AND deleted_at IS NULL`, name, db.arg(time.Now()))
	if err != nil {
		return nil, fmt.Errorf("store: delete room: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, errors.Join(chat.ErrNotFound, err)
	}
	ids, err := queryStrings(ctx, tx, `SELECT user_id FROM members WHERE room = $1 AND state = 'member' ORDER BY user_id`, name)
	if err != nil {
		return nil, fmt.Errorf("store: delete room: members: %w", err)
	}
	for _, q := range []string{`DELETE FROM members WHERE room = $1`, `DELETE FROM messages WHERE room = $1`} {
		if _, err := tx.ExecContext(ctx, q, name); err != nil {
			return nil, fmt.Errorf("store: delete room: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: delete room: commit: %w", err)
	}
	return ids, nil
}

// DirectRoom returns the direct room of users a and b, creating it on first
// use with both as members of role member and no owner. It is the same room
// whichever of the two asks.
func (db *DB) DirectRoom(ctx context.Context, a, b chat.User) (chat.Room, error) {
	key := chat.DMKey(a.ID, b.ID)
	r, err := db.directRoom(ctx, db.r, key)
	if !errors.Is(err, chat.ErrNotFound) {
		return r, err
	}
	sum := sha256.Sum256([]byte(key))
	name := chat.DMPrefix + hex.EncodeToString(sum[:16])
	now := db.arg(time.Now())
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: direct room: %w", err)
	}
	defer rollback(tx)
	res, err := tx.ExecContext(ctx, `INSERT INTO rooms (name, created_at, last_seq, kind, last_event_at, member_count, dm_key)
VALUES ($1, $2, 0, 'direct', $2, 2, $3) ON CONFLICT DO NOTHING`, name, now, key)
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: direct room: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		for _, id := range []string{a.ID, b.ID} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO members (room, user_id, role, state, since, last_read)
VALUES ($1, $2, 'member', 'member', $3, 0)`, name, id, now); err != nil {
				return chat.Room{}, fmt.Errorf("store: direct room: member: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return chat.Room{}, fmt.Errorf("store: direct room: commit: %w", err)
	}
	return db.directRoom(ctx, db.w, key)
}

func (db *DB) directRoom(ctx context.Context, q *sql.DB, key string) (chat.Room, error) {
	var r chat.Room
	err := q.QueryRowContext(ctx, roomSelect+`WHERE r.dm_key = $1`, key).Scan(roomDest(&r)...)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Room{}, chat.ErrNotFound
	}
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: direct room: %w", err)
	}
	return r, nil
}

// RoomsFor returns up to limit rooms visible to the user whose name sorts
// after after (byte-wise), in ascending order, and reports whether more
// follow. Visible are live public rooms, the private rooms the user is a
// member of or invited to (every private room for a server admin), and the
// direct rooms the user is a member of.
func (db *DB) RoomsFor(ctx context.Context, userID string, serverAdmin bool, after string, limit int) ([]chat.Room, bool, error) {
	limit, err := readLimit(limit)
	if err != nil {
		return nil, false, err
	}
	rows, err := db.r.QueryContext(ctx, roomSelect+`LEFT JOIN members mb ON mb.room = r.name AND mb.user_id = $1
WHERE r.name > $2 AND r.deleted_at IS NULL AND (r.kind = 'public'
	OR r.kind = 'private' AND ($3 OR mb.state IN ('member', 'invited'))
	OR r.kind = 'direct' AND mb.state = 'member')
ORDER BY r.name LIMIT $4`, userID, after, serverAdmin, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("store: list rooms: %w", err)
	}
	rooms, err := scanRooms(rows, min(limit+1, 128))
	if err != nil {
		return nil, false, fmt.Errorf("store: list rooms: %w", err)
	}
	more := len(rooms) > limit
	if more {
		rooms = rooms[:limit]
	}
	return rooms, more, nil
}

// Rooms returns up to limit public rooms whose name sorts after after, as a
// user without memberships sees them, and reports whether more follow.
func (db *DB) Rooms(ctx context.Context, after string, limit int) ([]chat.Room, bool, error) {
	return db.RoomsFor(ctx, "", false, after, limit)
}

func scanRooms(rows *sql.Rows, capHint int) ([]chat.Room, error) {
	defer rows.Close()
	rooms := make([]chat.Room, 0, capHint)
	for rows.Next() {
		var r chat.Room
		if err := rows.Scan(roomDest(&r)...); err != nil {
			return nil, err
		}
		rooms = append(rooms, r)
	}
	return rooms, rows.Err()
}

// queryStrings runs a query of one text column.
func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// readLimit checks a caller's row limit and bounds it by maxReadLimit.
func readLimit(limit int) (int, error) {
	if limit < 1 {
		return 0, chat.Errorf(chat.CodeInvalidRequest, "limit must be at least 1")
	}
	return min(limit, maxReadLimit), nil
}
