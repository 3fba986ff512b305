package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/chatsvc/chat/internal/store"
)

// Raw is a connection to a test database beside its store, for tests that
// write rows no store method writes (room kinds, memberships, edits) or
// that change rows behind the store's back.
type Raw struct {
	t       testing.TB
	db      *sql.DB
	dialect string
}

// OpenRaw connects to the database at u (a URL from URL) and closes the
// connection at the end of the test. Open the store first: it creates the
// schema.
func OpenRaw(t testing.TB, dialect, u string) *Raw {
	t.Helper()
	driver, dsn := "pgx", u
	if dialect == store.DialectSQLite {
		driver, dsn = "sqlite", strings.TrimPrefix(u, "sqlite:")+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("storetest: open raw %s: %v", dialect, err)
	}
	t.Cleanup(func() { db.Close() })
	return &Raw{t: t, db: db, dialect: dialect}
}

// Exec runs one statement and fails the test on error. Placeholders are
// $1, $2, … on both dialects.
func (r *Raw) Exec(query string, args ...any) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.db.ExecContext(ctx, query, args...); err != nil {
		r.t.Fatalf("storetest: exec %q: %v", query, err)
	}
}

// Time returns t as the dialect stores times: unix milliseconds on SQLite,
// a UTC time on PostgreSQL.
func (r *Raw) Time(t time.Time) any {
	if r.dialect == store.DialectSQLite {
		return t.UnixMilli()
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// True is the literal of a true boolean column of the dialect.
func (r *Raw) True() string {
	if r.dialect == store.DialectSQLite {
		return "1"
	}
	return "true"
}

// SetRoomKind makes room public, private or direct.
func (r *Raw) SetRoomKind(room, kind string) {
	r.t.Helper()
	r.Exec(`UPDATE rooms SET kind = $2 WHERE name = $1`, room, kind)
}

// SetMember gives userID the membership state (member, invited or banned)
// in room.
func (r *Raw) SetMember(room, userID, state string) {
	r.t.Helper()
	r.Exec(`INSERT INTO members (room, user_id, role, state, since) VALUES ($1, $2, 'member', $3, $4)
ON CONFLICT (room, user_id) DO UPDATE SET state = excluded.state`, room, userID, state, r.Time(time.Now()))
}

// DeleteRoom marks room deleted and removes its messages and members, as
// deleting a room does.
func (r *Raw) DeleteRoom(room string) {
	r.t.Helper()
	r.Exec(`UPDATE rooms SET deleted_at = $2 WHERE name = $1`, room, r.Time(time.Now()))
	r.Exec(`DELETE FROM messages WHERE room = $1`, room)
	r.Exec(`DELETE FROM members WHERE room = $1`, room)
}

// EditMessage replaces the text of the message with the id, as an edit
// does.
func (r *Raw) EditMessage(id, text string, at time.Time) {
	r.t.Helper()
	r.Exec(`UPDATE messages SET text = $2, edited_at = $3 WHERE id = $1`, id, text, r.Time(at))
}

// DeleteMessage empties the message with the id and marks it deleted, as a
// deletion does.
func (r *Raw) DeleteMessage(id string) {
	r.t.Helper()
	r.Exec(`UPDATE messages SET text = '', deleted = `+r.True()+` WHERE id = $1`, id)
}

// AddEvent stores a stream event of the kind (edit, delete, member, room)
// with text in room at seq, beside the messages.
func (r *Raw) AddEvent(room string, seq int64, userID, kind, text string) {
	r.t.Helper()
	r.Exec(`INSERT INTO messages (room, seq, id, user_id, text, ts, kind) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		room, seq, fmt.Sprintf("event-%s-%d", room, seq), userID, text, r.Time(time.Now()), kind)
}
