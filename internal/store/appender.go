package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// appender holds the dialect-specific steps of a group-commit transaction.
type appender interface {
	// lockRooms reports which of names (sorted) exist and are not deleted,
	// locking their rows until the end of tx where the database locks rows.
	lockRooms(ctx context.Context, tx *sql.Tx, names []string) (map[string]bool, error)
	// lookupRefs returns the stored messages that hold any of keys.
	lookupRefs(ctx context.Context, tx *sql.Tx, keys []refKey) (map[refKey]storedRef, error)
	// bump adds counts[i] messages to room names[i]: to its last_seq and
	// msg_count, and sets its last_event_at to ts. It returns the new
	// last_seq and msg_count of each room.
	bump(ctx context.Context, tx *sql.Tx, names []string, counts []int64, ts any) (map[string]seqOrd, error)
	// clearRefs sets the ref of the messages with the given ids to NULL.
	clearRefs(ctx context.Context, tx *sql.Tx, ids []string) error
	// lastUords returns the uord of each pair's newest stored message
	// (0 when the user has none in the room).
	lastUords(ctx context.Context, tx *sql.Tx, pairs []roomUser) (map[roomUser]int64, error)
	// insert stores rows, all with timestamp ts (a column value from
	// DB.arg).
	insert(ctx context.Context, tx *sql.Tx, rows []msgRow, ts any) error
	close() error
}

// seqOrd is a room's last_seq and msg_count after a bump.
type seqOrd struct{ seq, ord int64 }

// sqliteChunk is the number of messages or keys one SQLite statement of a
// batch carries at most (9 parameters each, far below SQLite's limit).
const sqliteChunk = 256

// sqliteAppender runs prepared statements per room and per sender in a
// room, and one statement per up to sqliteChunk messages for the lookups
// and inserts.
type sqliteAppender struct {
	roomExists, bumpRoom, clearRef, lastUord *sql.Stmt
}

func newSQLiteAppender(ctx context.Context, db *sql.DB) (*sqliteAppender, error) {
	a := &sqliteAppender{}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&a.roomExists, `SELECT 1 FROM rooms WHERE name = $1 AND deleted_at IS NULL`},
		{&a.bumpRoom, `UPDATE rooms SET last_seq = last_seq + $2, msg_count = msg_count + $2, last_event_at = $3 WHERE name = $1 RETURNING last_seq, msg_count`},
		{&a.clearRef, `UPDATE messages SET ref = NULL WHERE id = $1`},
		{&a.lastUord, `SELECT uord FROM messages WHERE room = $1 AND user_id = $2 AND kind = 'message' ORDER BY seq DESC LIMIT 1`},
	} {
		s, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("store: prepare: %w", err), a.close())
		}
		*p.stmt = s
	}
	return a, nil
}

func (a *sqliteAppender) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{a.roomExists, a.bumpRoom, a.clearRef, a.lastUord} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

func (a *sqliteAppender) lockRooms(ctx context.Context, tx *sql.Tx, names []string) (map[string]bool, error) {
	st := tx.StmtContext(ctx, a.roomExists)
	exists := make(map[string]bool, len(names))
	for _, name := range names {
		var one int
		err := st.QueryRowContext(ctx, name).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		exists[name] = true
	}
	return exists, nil
}

func (a *sqliteAppender) lookupRefs(ctx context.Context, tx *sql.Tx, keys []refKey) (map[refKey]storedRef, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	found := make(map[refKey]storedRef)
	for chunk := range slices.Chunk(keys, sqliteChunk) {
		var q strings.Builder
		args := make([]any, 0, 2*len(chunk))
		// CROSS JOIN keeps the keys as the outer loop, so that each key is
		// one probe of the (user_id, ref) index.
		q.WriteString(`SELECT m.user_id, m.ref, m.room, m.seq, COALESCE(t.id, m.id), m.text, m.ts, m.kind, COALESCE(m.target, 0) FROM (VALUES `)
		for i, k := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?)")
			args = append(args, k.user, k.ref)
		}
		q.WriteString(`) AS k CROSS JOIN messages m ON m.user_id = k.column1 AND m.ref = k.column2
LEFT JOIN messages t ON t.room = m.room AND t.seq = m.target`)
		rows, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				k refKey
				p storedRef
			)
			if err := rows.Scan(&k.user, &k.ref, &p.room, &p.seq, &p.id, &p.text, msTime{&p.ts}, &p.kind, &p.target); err != nil {
				rows.Close()
				return nil, err
			}
			found[k] = p
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return found, nil
}

func (a *sqliteAppender) bump(ctx context.Context, tx *sql.Tx, names []string, counts []int64, ts any) (map[string]seqOrd, error) {
	st := tx.StmtContext(ctx, a.bumpRoom)
	last := make(map[string]seqOrd, len(names))
	for i, name := range names {
		var l seqOrd
		err := st.QueryRowContext(ctx, name, counts[i], ts).Scan(&l.seq, &l.ord)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		last[name] = l
	}
	return last, nil
}

func (a *sqliteAppender) clearRefs(ctx context.Context, tx *sql.Tx, ids []string) error {
	st := tx.StmtContext(ctx, a.clearRef)
	for _, id := range ids {
		if _, err := st.ExecContext(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (a *sqliteAppender) lastUords(ctx context.Context, tx *sql.Tx, pairs []roomUser) (map[roomUser]int64, error) {
	st := tx.StmtContext(ctx, a.lastUord)
	last := make(map[roomUser]int64, len(pairs))
	for _, p := range pairs {
		var u int64
		err := st.QueryRowContext(ctx, p.room, p.user).Scan(&u)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		last[p] = u
	}
	return last, nil
}

func (a *sqliteAppender) insert(ctx context.Context, tx *sql.Tx, rows []msgRow, ts any) error {
	for chunk := range slices.Chunk(rows, sqliteChunk) {
		var q strings.Builder
		args := make([]any, 0, 9*len(chunk))
		// OR FAIL: a refused row ends the statement without undoing the rows
		// before it, so SQLite keeps no statement journal for this
		// multi-row insert; the caller rolls the whole transaction back on
		// any error anyway.
		q.WriteString(`INSERT OR FAIL INTO messages (room, seq, id, user_id, text, ts, ref, ord, uord) VALUES `)
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?)")
			args = append(args, r.room, r.seq, r.id, r.userID, r.text, ts, r.ref, r.ord, r.uord)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// pgAppender runs a fixed number of statements per batch, whatever its
// size, passing the batch's values as arrays: on PostgreSQL every statement
// is a network round trip.
type pgAppender struct{}

func (pgAppender) close() error { return nil }

func (pgAppender) lockRooms(ctx context.Context, tx *sql.Tx, names []string) (map[string]bool, error) {
	// The sort below the row lock makes PostgreSQL lock the rooms in name
	// order.
	rows, err := tx.QueryContext(ctx,
		`SELECT name, deleted_at IS NULL FROM rooms WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`, names)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	exists := make(map[string]bool, len(names))
	for rows.Next() {
		var (
			name string
			live bool
		)
		if err := rows.Scan(&name, &live); err != nil {
			return nil, err
		}
		if live {
			exists[name] = true
		}
	}
	return exists, rows.Err()
}

func (pgAppender) lookupRefs(ctx context.Context, tx *sql.Tx, keys []refKey) (map[refKey]storedRef, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	users := make([]string, len(keys))
	refs := make([]string, len(keys))
	for i, k := range keys {
		users[i], refs[i] = k.user, k.ref
	}
	rows, err := tx.QueryContext(ctx, `SELECT m.user_id, m.ref, m.room, m.seq, COALESCE(t.id, m.id), m.text, m.ts, m.kind, COALESCE(m.target, 0)
FROM messages m JOIN unnest($1::text[], $2::text[]) AS k (user_id, ref)
ON m.user_id = k.user_id AND m.ref = k.ref
LEFT JOIN messages t ON t.room = m.room AND t.seq = m.target`, users, refs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[refKey]storedRef, len(keys))
	for rows.Next() {
		var (
			k refKey
			p storedRef
		)
		if err := rows.Scan(&k.user, &k.ref, &p.room, &p.seq, &p.id, &p.text, msTime{&p.ts}, &p.kind, &p.target); err != nil {
			return nil, err
		}
		found[k] = p
	}
	return found, rows.Err()
}

func (pgAppender) bump(ctx context.Context, tx *sql.Tx, names []string, counts []int64, ts any) (map[string]seqOrd, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE rooms r SET last_seq = r.last_seq + u.n, msg_count = r.msg_count + u.n, last_event_at = $3
FROM unnest($1::text[], $2::bigint[]) AS u (name, n)
WHERE r.name = u.name
RETURNING r.name, r.last_seq, r.msg_count`, names, counts, ts)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	last := make(map[string]seqOrd, len(names))
	for rows.Next() {
		var (
			name string
			l    seqOrd
		)
		if err := rows.Scan(&name, &l.seq, &l.ord); err != nil {
			return nil, err
		}
		last[name] = l
	}
	return last, rows.Err()
}

func (pgAppender) clearRefs(ctx context.Context, tx *sql.Tx, ids []string) error {
	_, err := tx.ExecContext(ctx, `UPDATE messages SET ref = NULL WHERE id = ANY($1::text[])`, ids)
	return err
}

func (pgAppender) lastUords(ctx context.Context, tx *sql.Tx, pairs []roomUser) (map[roomUser]int64, error) {
	rooms := make([]string, len(pairs))
	users := make([]string, len(pairs))
	for i, p := range pairs {
		rooms[i], users[i] = p.room, p.user
	}
	rows, err := tx.QueryContext(ctx, `SELECT p.room, p.user_id, COALESCE((SELECT m.uord FROM messages m
	WHERE m.room = p.room AND m.user_id = p.user_id AND m.kind = 'message' ORDER BY m.seq DESC LIMIT 1), 0)
FROM unnest($1::text[], $2::text[]) AS p (room, user_id)`, rooms, users)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	last := make(map[roomUser]int64, len(pairs))
	for rows.Next() {
		var (
			p roomUser
			u int64
		)
		if err := rows.Scan(&p.room, &p.user, &u); err != nil {
			return nil, err
		}
		last[p] = u
	}
	return last, rows.Err()
}

func (pgAppender) insert(ctx context.Context, tx *sql.Tx, rows []msgRow, ts any) error {
	var (
		rooms   = make([]string, len(rows))
		seqs    = make([]int64, len(rows))
		ids     = make([]string, len(rows))
		userIDs = make([]string, len(rows))
		texts   = make([]string, len(rows))
		refs    = make([]string, len(rows))
		ords    = make([]int64, len(rows))
		uords   = make([]int64, len(rows))
	)
	for i, r := range rows {
		rooms[i], seqs[i], ids[i], userIDs[i], texts[i], refs[i] = r.room, r.seq, r.id, r.userID, r.text, r.ref
		ords[i], uords[i] = r.ord, r.uord
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO messages (room, seq, id, user_id, text, ts, ref, ord, uord)
SELECT u.room, u.seq, u.id, u.user_id, u.text, $6::timestamptz, NULLIF(u.ref, ''), u.ord, u.uord
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $7::text[], $8::bigint[], $9::bigint[])
	AS u (room, seq, id, user_id, text, ref, ord, uord)`,
		rooms, seqs, ids, userIDs, texts, ts, refs, ords, uords)
	return err
}
