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
		`SELECT id, username, password_hash, created_at FROM users WHERE username = $1`,
		strings.ToLower(username)).Scan(&u.ID, &u.Username, &hash, msTime{&u.CreatedAt})
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
		`SELECT id, username, created_at FROM users WHERE id = $1`,
		id).Scan(&u.ID, &u.Username, msTime{&u.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return chat.User{}, chat.ErrNotFound
	}
	if err != nil {
		return chat.User{}, fmt.Errorf("store: user by id: %w", err)
	}
	return u, nil
}
