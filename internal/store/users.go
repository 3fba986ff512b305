package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chatsvc/chat/internal/chat"
)

// CreateUser stores a new user with a fresh UUIDv7 id. The username is
// stored lower-cased (callers normalise it with chat.NormalizeUsername
// first); chat.ErrUsernameTaken reports one already registered.
func (db *DB) CreateUser(ctx context.Context, username, passwordHash string) (chat.User, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return chat.User{}, fmt.Errorf("store: create user: new id: %w", err)
	}
	u := chat.User{ID: id.String(), Username: strings.ToLower(username), CreatedAt: truncMS(time.Now())}
	_, err = db.w.ExecContext(ctx,
		`INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Username, passwordHash, db.arg(u.CreatedAt))
	if isUnique(err) {
		return chat.User{}, chat.ErrUsernameTaken
	}
	if err != nil {
		return chat.User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

// UserByName returns the user with the given username, compared
// case-insensitively, and its password hash; chat.ErrNotFound when there is
// none.
func (db *DB) UserByName(ctx context.Context, username string) (chat.User, string, error) {
	var (
		u    chat.User
		hash string
	)
	err := db.r.QueryRowContext(ctx,
		`SELECT id, username, password_hash, created_at, suspended_at FROM users WHERE username = $1`,
		strings.ToLower(username)).Scan(&u.ID, &u.Username, &hash, msTime{&u.CreatedAt}, msTime{&u.SuspendedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return chat.User{}, "", chat.ErrNotFound
	}
	if err != nil {
		return chat.User{}, "", fmt.Errorf("store: user by name: %w", err)
	}
	return u, hash, nil
}

// UserByID returns the user with the given id; chat.ErrNotFound when there
// is none.
func (db *DB) UserByID(ctx context.Context, id string) (chat.User, error) {
	var u chat.User
	err := db.r.QueryRowContext(ctx,
		`SELECT id, username, created_at, suspended_at FROM users WHERE id = $1`,
		id).Scan(&u.ID, &u.Username, msTime{&u.CreatedAt}, msTime{&u.SuspendedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return chat.User{}, chat.ErrNotFound
	}
	if err != nil {
		return chat.User{}, fmt.Errorf("store: user by id: %w", err)
	}
	return u, nil
}

// SetSuspended suspends the user (suspended true) or lifts a suspension.
// Suspending revokes every live session of the user and returns their ids,
// so the caller can close their sockets; suspending a suspended user keeps
// the first time and revokes nothing new.
func (db *DB) SetSuspended(ctx context.Context, userID string, suspended bool) ([]string, error) {
	now := db.arg(time.Now())
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: suspend: %w", err)
	}
	defer rollback(tx)
	q := `UPDATE users SET suspended_at = NULL WHERE id = $1`
	args := []any{userID}
	if suspended {
		q = `UPDATE users SET suspended_at = COALESCE(suspended_at, $2) WHERE id = $1`
		args = append(args, now)
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: suspend: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, errors.Join(chat.ErrNotFound, err)
	}
	var ids []string
	if suspended {
		ids, err = queryStrings(ctx, tx, `UPDATE sessions SET revoked_at = $2
WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING id`, userID, now)
		if err != nil {
			return nil, fmt.Errorf("store: suspend: revoke sessions: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: suspend: commit: %w", err)
	}
	return ids, nil
}

// SuspendedByRefresh reports whether the user of the session of a refresh
// token (by its hash) is suspended; false for an unknown token.
func (db *DB) SuspendedByRefresh(ctx context.Context, hash []byte) (bool, error) {
	var at time.Time
	err := db.r.QueryRowContext(ctx, `SELECT u.suspended_at FROM refresh_tokens t
JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id WHERE t.hash = $1`, hash).Scan(msTime{&at})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: suspended by refresh: %w", err)
	}
	return !at.IsZero(), nil
}
