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

// UserByExternalID returns the user linked to the external identity
// (issuer, subject); chat.ErrNotFound when there is none.
func (db *DB) UserByExternalID(ctx context.Context, issuer, subject string) (chat.User, error) {
	var u chat.User
	err := db.r.QueryRowContext(ctx,
		`SELECT u.id, u.username, u.created_at FROM external_identities e
		 JOIN users u ON u.id = e.user_id
		 WHERE e.issuer = $1 AND e.subject = $2`,
		issuer, subject).Scan(&u.ID, &u.Username, msTime{&u.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return chat.User{}, chat.ErrNotFound
	}
	if err != nil {
		return chat.User{}, fmt.Errorf("store: user by external id: %w", err)
	}
	return u, nil
}

// CreateExternalUser stores a new user named username (normalised by the
// caller) with the given password hash, linked to the external identity
// (issuer, subject), in one transaction. When the identity is already
// linked (another request made it first) it returns that user instead. A
// username held by any other user is chat.ErrUsernameTaken: an external
// identity never takes over an existing account.
func (db *DB) CreateExternalUser(ctx context.Context, issuer, subject, username, passwordHash string) (chat.User, error) {
	u, err := db.createExternalUser(ctx, issuer, subject, username, passwordHash)
	if isUnique(err) || errors.Is(err, chat.ErrUsernameTaken) {
		// Either the name is taken or the identity was linked meanwhile;
		// only the latter is a success.
		if linked, lerr := db.UserByExternalID(ctx, issuer, subject); lerr == nil {
			return linked, nil
		}
		return chat.User{}, chat.ErrUsernameTaken
	}
	if err != nil {
		return chat.User{}, fmt.Errorf("store: create external user: %w", err)
	}
	return u, nil
}

func (db *DB) createExternalUser(ctx context.Context, issuer, subject, username, passwordHash string) (chat.User, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return chat.User{}, fmt.Errorf("new id: %w", err)
	}
	u := chat.User{ID: id.String(), Username: strings.ToLower(username), CreatedAt: truncMS(time.Now())}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return chat.User{}, fmt.Errorf("begin: %w", err)
	}
	defer rollback(tx)
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Username, passwordHash, db.arg(u.CreatedAt)); err != nil {
		return chat.User{}, fmt.Errorf("insert user: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)`,
		issuer, subject, u.ID, db.arg(u.CreatedAt)); err != nil {
		return chat.User{}, fmt.Errorf("insert identity: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return chat.User{}, fmt.Errorf("commit: %w", err)
	}
	return u, nil
}
