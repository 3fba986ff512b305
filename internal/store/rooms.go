package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

const roomColumns = `name, created_at, last_seq`

// EnsureRoom returns the room with the given name, creating it when it does
// not exist. The name must already be normalised (chat.NormalizeRoom).
func (db *DB) EnsureRoom(ctx context.Context, name string) (chat.Room, error) {
	r, err := db.room(ctx, db.r, name)
	if !errors.Is(err, chat.ErrNotFound) {
		return r, err
	}
	_, err = db.w.ExecContext(ctx,
		`INSERT INTO rooms (name, created_at, last_seq) VALUES ($1, $2, 0) ON CONFLICT (name) DO NOTHING`,
		name, db.arg(time.Now()))
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: create room: %w", err)
	}
	return db.room(ctx, db.w, name)
}

// Room returns the room with the given name; chat.ErrNotFound when it was
// never created.
func (db *DB) Room(ctx context.Context, name string) (chat.Room, error) {
	return db.room(ctx, db.r, name)
}

func (db *DB) room(ctx context.Context, q *sql.DB, name string) (chat.Room, error) {
	var r chat.Room
	err := q.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms WHERE name = $1`, name).
		Scan(&r.Name, msTime{&r.CreatedAt}, &r.LastSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Room{}, chat.ErrNotFound
	}
	if err != nil {
		return chat.Room{}, fmt.Errorf("store: room: %w", err)
	}
	return r, nil
}

// Rooms returns up to limit rooms whose name sorts after after (byte-wise),
// in ascending order, and reports whether more rooms follow.
func (db *DB) Rooms(ctx context.Context, after string, limit int) ([]chat.Room, bool, error) {
	limit, err := readLimit(limit)
	if err != nil {
		return nil, false, err
	}
	rows, err := db.r.QueryContext(ctx,
		`SELECT `+roomColumns+` FROM rooms WHERE name > $1 ORDER BY name LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("store: list rooms: %w", err)
	}
	defer rows.Close()
	rooms := make([]chat.Room, 0, min(limit+1, 128))
	for rows.Next() {
		var r chat.Room
		if err := rows.Scan(&r.Name, msTime{&r.CreatedAt}, &r.LastSeq); err != nil {
			return nil, false, fmt.Errorf("store: list rooms: %w", err)
		}
		rooms = append(rooms, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("store: list rooms: %w", err)
	}
	more := len(rooms) > limit
	if more {
		rooms = rooms[:limit]
	}
	return rooms, more, nil
}

// readLimit checks a caller's row limit and bounds it by maxReadLimit.
func readLimit(limit int) (int, error) {
	if limit < 1 {
		return 0, chat.Errorf(chat.CodeInvalidRequest, "limit must be at least 1")
	}
	return min(limit, maxReadLimit), nil
}
