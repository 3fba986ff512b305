package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxActiveQuery bounds the session ids ActiveSessions reads in one query.
const maxActiveQuery = 500

// ActiveSessions returns those of ids whose session exists, is not revoked
// and has not expired at now, in no particular order: the check of the
// sessions of sockets that are already open, many at a time.
func (db *DB) ActiveSessions(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	var active []string
	for len(ids) > 0 {
		n := min(len(ids), maxActiveQuery)
		got, err := db.activeSessions(ctx, ids[:n], now)
		if err != nil {
			return nil, fmt.Errorf("store: active sessions: %w", err)
		}
		active = append(active, got...)
		ids = ids[n:]
	}
	return active, nil
}

func (db *DB) activeSessions(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	var q strings.Builder
	q.WriteString(`SELECT id FROM sessions WHERE revoked_at IS NULL AND expires_at > $1 AND id IN (`)
	args := make([]any, 0, len(ids)+1)
	args = append(args, db.arg(now))
	for i, id := range ids {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("$" + strconv.Itoa(i+2))
		args = append(args, id)
	}
	q.WriteString(")")
	rows, err := db.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var active []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		active = append(active, id)
	}
	return active, rows.Err()
}
