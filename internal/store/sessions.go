package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/chatsvc/chat/internal/chat"
)

// tokenQuery selects a refresh token by hash together with its session.
const tokenQuery = `SELECT t.spent_at, t.expires_at, s.id, s.user_id, s.created_at, s.expires_at, s.revoked_at
FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
WHERE t.hash = $1`

// CreateSession starts a session of the user that ends at expiresAt, with
// refreshHash (the SHA-256 of the refresh token) as its first refresh token.
func (db *DB) CreateSession(ctx context.Context, userID string, refreshHash []byte, expiresAt time.Time) (chat.Session, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return chat.Session{}, fmt.Errorf("store: create session: new id: %w", err)
	}
	s := chat.Session{ID: id.String(), UserID: userID, CreatedAt: truncMS(time.Now()), ExpiresAt: truncMS(expiresAt)}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return chat.Session{}, fmt.Errorf("store: create session: %w", err)
	}
	defer rollback(tx)
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		s.ID, s.UserID, db.arg(s.CreatedAt), db.arg(s.ExpiresAt)); err != nil {
		return chat.Session{}, fmt.Errorf("store: create session: %w", err)
	}
	if err := db.insertToken(ctx, tx, refreshHash, s.ID, s.ExpiresAt, s.CreatedAt); err != nil {
		return chat.Session{}, fmt.Errorf("store: create session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return chat.Session{}, fmt.Errorf("store: create session: commit: %w", err)
	}
	return s, nil
}

func (db *DB) insertToken(ctx context.Context, tx *sql.Tx, hash []byte, sessionID string, expiresAt, now time.Time) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO refresh_tokens (hash, session_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
		hash, sessionID, db.arg(expiresAt), db.arg(now))
	return err
}

// tokenRow is a refresh token with its session.
type tokenRow struct {
	spentAt, expiresAt time.Time
	session            chat.Session
}

// lockToken reads the refresh token with the given hash and its session in
// tx, locking both rows on PostgreSQL. ok is false when no such token exists.
func (db *DB) lockToken(ctx context.Context, tx *sql.Tx, hash []byte) (t tokenRow, ok bool, err error) {
	s := &t.session
	err = tx.QueryRowContext(ctx, db.q.tokenForUpdate, hash).Scan(
		msTime{&t.spentAt}, msTime{&t.expiresAt},
		&s.ID, &s.UserID, msTime{&s.CreatedAt}, msTime{&s.ExpiresAt}, msTime{&s.RevokedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return tokenRow{}, false, nil
	}
	if err != nil {
		return tokenRow{}, false, err
	}
	return t, true, nil
}

// revoke marks the session revoked at now unless it already was, and
// updates s accordingly.
func (db *DB) revoke(ctx context.Context, tx *sql.Tx, s *chat.Session, now time.Time) error {
	if !s.RevokedAt.IsZero() {
		return nil
	}
	now = truncMS(now)
	if _, err := tx.ExecContext(ctx,
		`UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`,
		s.ID, db.arg(now)); err != nil {
		return err
	}
	s.RevokedAt = now
	return nil
}

// LookupRefresh reads the refresh token hash and its session without
// writing or locking anything, so that a refresh or a logout that cannot
// succeed, or needs no write, never waits for the writer. It returns the
// session (revoked or not) and when the token was spent (zero while it is
// current); chat.ErrInvalidToken for an unknown token or one that expired
// at now.
func (db *DB) LookupRefresh(ctx context.Context, hash []byte, now time.Time) (chat.Session, time.Time, error) {
	var t tokenRow
	s := &t.session
	err := db.r.QueryRowContext(ctx, tokenQuery, hash).Scan(
		msTime{&t.spentAt}, msTime{&t.expiresAt},
		&s.ID, &s.UserID, msTime{&s.CreatedAt}, msTime{&s.ExpiresAt}, msTime{&s.RevokedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Session{}, time.Time{}, chat.ErrInvalidToken
	}
	if err != nil {
		return chat.Session{}, time.Time{}, fmt.Errorf("store: lookup refresh: %w", err)
	}
	if !now.Before(t.expiresAt) || !now.Before(s.ExpiresAt) {
		return chat.Session{}, time.Time{}, chat.ErrInvalidToken
	}
	return *s, t.spentAt, nil
}

// RotateRefresh spends the refresh token oldHash and gives its session the
// new token newHash, which expires with the session (sessions do not
// slide); it returns the session and the time of the rotation (now). It
// returns chat.ErrInvalidToken for an unknown token or an expired or revoked
// session.
//
// A token already spent is a retry when it was spent at most grace ago and
// newHash is its successor, still current: RotateRefresh then changes
// nothing and returns the session and the time of the first rotation, so
// the caller can hand out the same pair again (newHash is derived from the
// old token, so only its holder can name the successor). A spent token
// whose successor moved on within grace is chat.ErrInvalidToken. Any other
// spent token revokes its whole session: RotateRefresh then returns that
// session and ErrReused.
func (db *DB) RotateRefresh(ctx context.Context, oldHash, newHash []byte, now time.Time, grace time.Duration) (chat.Session, time.Time, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return chat.Session{}, time.Time{}, fmt.Errorf("store: rotate refresh: %w", err)
	}
	defer rollback(tx)
	t, ok, err := db.lockToken(ctx, tx, oldHash)
	if err != nil {
		return chat.Session{}, time.Time{}, fmt.Errorf("store: rotate refresh: find token: %w", err)
	}
	s := t.session
	if !ok || !s.Active(now) || !now.Before(t.expiresAt) {
		return chat.Session{}, time.Time{}, chat.ErrInvalidToken
	}
	if !t.spentAt.IsZero() {
		if grace > 0 && !now.After(t.spentAt.Add(grace)) {
			next, found, err := db.lockToken(ctx, tx, newHash)
			if err != nil {
				return chat.Session{}, time.Time{}, fmt.Errorf("store: rotate refresh: find successor: %w", err)
			}
			if !found || next.session.ID != s.ID || !next.spentAt.IsZero() {
				return chat.Session{}, time.Time{}, chat.ErrInvalidToken
			}
			return s, t.spentAt, nil
		}
		if err := db.revoke(ctx, tx, &s, now); err != nil {
			return chat.Session{}, time.Time{}, fmt.Errorf("store: rotate refresh: revoke session: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return chat.Session{}, time.Time{}, fmt.Errorf("store: rotate refresh: commit: %w", err)
		}
		return s, time.Time{}, ErrReused
	}
	now = truncMS(now)
	if _, err := tx.ExecContext(ctx,
		`UPDATE refresh_tokens SET spent_at = $2 WHERE hash = $1`,
		oldHash, db.arg(now)); err != nil {
		return chat.Session{}, time.Time{}, fmt.Errorf("store: rotate refresh: spend token: %w", err)
	}
	if err := db.insertToken(ctx, tx, newHash, s.ID, s.ExpiresAt, now); err != nil {
		return chat.Session{}, time.Time{}, fmt.Errorf("store: rotate refresh: insert token: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return chat.Session{}, time.Time{}, fmt.Errorf("store: rotate refresh: commit: %w", err)
	}
	return s, now, nil
}

// RevokeByRefresh ends the session of the refresh token hash (logout). Any
// token of the session works, current, spent or of a session already
// revoked, and revoking again changes nothing; it returns the session. An
// unknown token or an expired session is chat.ErrInvalidToken.
func (db *DB) RevokeByRefresh(ctx context.Context, hash []byte, now time.Time) (chat.Session, error) {
	// Read first: an unknown token or a session already revoked needs no
	// write, and must not queue behind the single writer.
	sess, _, err := db.LookupRefresh(ctx, hash, now)
	if err != nil {
		if errors.Is(err, chat.ErrInvalidToken) {
			return chat.Session{}, err
		}
		return chat.Session{}, fmt.Errorf("store: revoke session: %w", err)
	}
	if !sess.RevokedAt.IsZero() {
		return sess, nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return chat.Session{}, fmt.Errorf("store: revoke session: %w", err)
	}
	defer rollback(tx)
	t, ok, err := db.lockToken(ctx, tx, hash)
	if err != nil {
		return chat.Session{}, fmt.Errorf("store: revoke session: find token: %w", err)
	}
	s := t.session
	if !ok || !now.Before(s.ExpiresAt) {
		return chat.Session{}, chat.ErrInvalidToken
	}
	if err := db.revoke(ctx, tx, &s, now); err != nil {
		return chat.Session{}, fmt.Errorf("store: revoke session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return chat.Session{}, fmt.Errorf("store: revoke session: commit: %w", err)
	}
	return s, nil
}

// Session returns the session with the given id; chat.ErrNotFound when there
// is none (never created, or pruned after its expiry).
func (db *DB) Session(ctx context.Context, id string) (chat.Session, error) {
	var s chat.Session
	err := db.r.QueryRowContext(ctx,
		`SELECT id, user_id, created_at, expires_at, revoked_at FROM sessions WHERE id = $1`, id).
		Scan(&s.ID, &s.UserID, msTime{&s.CreatedAt}, msTime{&s.ExpiresAt}, msTime{&s.RevokedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Session{}, chat.ErrNotFound
	}
	if err != nil {
		return chat.Session{}, fmt.Errorf("store: session: %w", err)
	}
	return s, nil
}

// PruneExpired deletes the refresh tokens and sessions that expired before
// now, and clears the ref of messages older than 24 h so that their refs can
// be used again. It returns the number of rows deleted or cleared.
func (db *DB) PruneExpired(ctx context.Context, now time.Time) (int64, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	defer rollback(tx)
	steps := []struct {
		what, query string
		arg         any
	}{
		{"refresh tokens", `DELETE FROM refresh_tokens WHERE expires_at < $1`, db.arg(now)},
		{"sessions", `DELETE FROM sessions WHERE expires_at < $1`, db.arg(now)},
		{"message refs", `UPDATE messages SET ref = NULL WHERE ref IS NOT NULL AND ts < $1`, db.arg(now.Add(-refWindow))},
	}
	var total int64
	for _, st := range steps {
		res, err := tx.ExecContext(ctx, st.query, st.arg)
		if err != nil {
			return 0, fmt.Errorf("store: prune %s: %w", st.what, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: prune %s: %w", st.what, err)
		}
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: prune: commit: %w", err)
	}
	return total, nil
}
