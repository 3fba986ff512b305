package store

import (
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/migrations"
)

// checkUords fails the test unless the uord of every stored message is its
// sender's count of messages in the room up to and including it, and that
// of every other event 0.
func checkUords(t *testing.T, db *sql.DB) (messages int) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT room, seq, user_id, kind, uord FROM messages ORDER BY room, seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := make(map[roomUser]int64)
	for rows.Next() {
		var (
			k         roomUser
			kind      string
			seq, uord int64
			want      int64
		)
		if err := rows.Scan(&k.room, &seq, &k.user, &kind, &uord); err != nil {
			t.Fatal(err)
		}
		if kind == chat.StreamMessage {
			counts[k]++
			want = counts[k]
			messages++
		}
		if uord != want {
			t.Errorf("%s seq %d (%s of %s): uord %d, want %d", k.room, seq, kind, k.user, uord, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return messages
}

// TestBatchUords stores interleaved senders in two rooms, several of them in
// one batch beside other events, refused items and duplicates, and checks
// that each sender's messages are numbered on from their last stored one.
func TestBatchUords(t *testing.T) {
	eachDialectInternal(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		var us []chat.User
		for _, name := range []string{"alice", "bob", "carol"} {
			us = append(us, mustUserInternal(t, db, name))
		}
		if _, err := db.EnsureRoom(ctx, "second"); err != nil {
			t.Fatal(err)
		}
		msg := func(u chat.User, room, ref string) chat.NewMessage {
			return chat.NewMessage{Room: room, UserID: u.ID, Username: u.Username, Text: "t " + ref, Ref: ref}
		}
		a, b, c := us[0], us[1], us[2]
		batches := [][]chat.NewMessage{
			{msg(a, chat.DefaultRoom, "1")},
			{msg(a, chat.DefaultRoom, "2"), msg(b, chat.DefaultRoom, "3"), msg(a, "second", "4"), msg(a, chat.DefaultRoom, "5")},
			{
				msg(b, "second", "6"), msg(a, chat.DefaultRoom, "7"), msg(a, "nowhere", "8"),
				{Room: chat.DefaultRoom, UserID: a.ID, Username: a.Username, Kind: chat.StreamEdit, Target: 1, Text: "edited"},
				msg(a, chat.DefaultRoom, "2"), // a duplicate: stores nothing
				msg(c, chat.DefaultRoom, "9"), msg(a, "second", "10"), msg(b, chat.DefaultRoom, "11"), msg(a, chat.DefaultRoom, "12"),
			},
			{msg(c, chat.DefaultRoom, "13"), {Room: chat.DefaultRoom, UserID: a.ID, Username: a.Username, Kind: chat.StreamDelete, Target: 2}},
			{msg(a, chat.DefaultRoom, "14"), msg(a, chat.DefaultRoom, "15"), msg(c, "second", "16")},
		}
		for _, ms := range batches {
			if _, err := db.appendTx(ctx, reqs(ms...)); err != nil {
				t.Fatal(err)
			}
		}
		if n := checkUords(t, db.r); n != 15 {
			t.Fatalf("%d messages stored, want 15", n)
		}
	})
}

// TestUordsTwoStoresOnePostgres appends the messages of two senders to two
// rooms through two stores on one database at once: the room locks keep
// each sender's numbering gapless across the processes.
func TestUordsTwoStoresOnePostgres(t *testing.T) {
	u := internalURL(t, DialectPostgres)
	var dbs []*DB
	for range 2 {
		db, err := Open(t.Context(), u, Options{BatchMax: 16})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	ctx := t.Context()
	var us []chat.User
	for _, name := range []string{"alice", "bob"} {
		us = append(us, mustUserInternal(t, dbs[0], name))
	}
	if _, err := dbs[1].EnsureRoom(ctx, "second"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Go(func() {
			u, room := us[i%2], []string{chat.DefaultRoom, "second"}[i/2%2]
			m := chat.NewMessage{Room: room, UserID: u.ID, Username: u.Username, Text: "m"}
			if _, _, err := dbs[i/4%2].Append(ctx, m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := checkUords(t, dbs[0].r); n != 400 {
		t.Fatalf("%d messages stored, want 400", n)
	}
}

// TestMigrateUords stores messages in a database at the schema before
// uord, migrates it, and checks the backfilled uords, the unread count and
// search; then takes the migration down and up again.
func TestMigrateUords(t *testing.T) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			ctx := t.Context()
			u := internalURL(t, d)
			raw, p := rawProvider(t, d, u)
			if _, err := p.UpTo(ctx, 5); err != nil {
				t.Fatal(err)
			}
			storeV5(t, d, raw)
			checkMigrated(t, u)
			if _, err := p.DownTo(ctx, 5); err != nil {
				t.Fatalf("down: %v", err)
			}
			if _, err := raw.ExecContext(ctx, `SELECT uord FROM messages`); err == nil {
				t.Fatal("uord is still there after the migration went down")
			}
			checkMigrated(t, u)
		})
	}
}

// rawProvider connects to the database at u beside the store and returns a
// goose provider of the dialect's migrations on it.
func rawProvider(t testing.TB, d, u string) (*sql.DB, *goose.Provider) {
	t.Helper()
	driver, dsn, gd, sub, files := "sqlite", strings.TrimPrefix(u, "sqlite:"), goose.DialectSQLite3, "sqlite", fs.FS(migrations.SQLite)
	if d == DialectPostgres {
		driver, dsn, gd, sub, files = "pgx", u, goose.DialectPostgres, "postgres", migrations.Postgres
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	fsys, err := fs.Sub(files, sub)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(gd, raw, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return raw, p
}

// storeV5 writes room "r" as the schema of migration 5 holds it: users u1
// and u2 (a member with the read marker at seq 3) sending messages in turn
// with others' in between, an edit, a member event and a deleted message
// of each.
func storeV5(t *testing.T, d string, raw *sql.DB) {
	t.Helper()
	ts, yes := any(int64(1764000000000)), "1"
	if d == DialectPostgres {
		ts, yes = "2025-11-24T16:00:00Z", "true"
	}
	stmts := []string{
		`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u1', 'alice', 'h', $1), ('u2', 'bob', 'h', $1)`,
		`INSERT INTO rooms (name, created_at, last_seq, msg_count, last_event_at) VALUES ('r', $1, 10, 8, $1)`,
		`INSERT INTO members (room, user_id, state, since, last_read) VALUES ('r', 'u1', 'member', $1, 3), ('r', 'u2', 'member', $1, 0)`,
	}
	for i, u := range []string{"u1", "u2", "u1", "u1", "u2", "u1", "u2", "u1"} {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO messages (room, seq, id, user_id, text, ts, ord)
VALUES ('r', %d, 'm%d', '%s', 'word %d', $1, %d)`, seqOf(i), i, u, i, i+1))
	}
	stmts = append(stmts,
		`INSERT INTO messages (room, seq, id, user_id, text, ts, kind, target) VALUES ('r', 4, 'e1', 'u1', 'word edit', $1, 'edit', 3)`,
		`INSERT INTO messages (room, seq, id, user_id, text, ts, kind, data) VALUES ('r', 8, 'v1', 'u2', '', $1, 'member', '{}')`,
	)
	for _, q := range stmts {
		if _, err := raw.ExecContext(t.Context(), q, ts); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	q := `UPDATE messages SET text = '', deleted = ` + yes + ` WHERE id IN ('m4', 'm5')`
	if _, err := raw.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// seqOf is the seq of the i-th message of storeV5: seqs 4 and 8 hold other
// events.
func seqOf(i int) int64 {
	switch {
	case i >= 6:
		return int64(i + 3)
	case i >= 3:
		return int64(i + 2)
	}
	return int64(i + 1)
}

// checkMigrated opens the store on the database at u, which migrates it,
// and checks storeV5's room in it.
func checkMigrated(t *testing.T, u string) {
	t.Helper()
	ctx := t.Context()
	db, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := checkUords(t, db.r); n != 8 {
		t.Fatalf("%d messages, want 8", n)
	}
	// u1 read to seq 3; after it: u1's m3 and m5 (m5 deleted), u2's m4
	// (deleted) and m6. u2 read nothing: u1's m0, m2, m3, m7 (m5 deleted).
	for id, unread := range map[string]int64{"u1": 1, "u2": 4} {
		rs, err := db.MyRooms(ctx, id)
		if err != nil || len(rs) != 1 || rs[0].Unread != unread {
			t.Fatalf("MyRooms(%s) = %+v, %v; want room r with %d unread", id, rs, err, unread)
		}
	}
	q, err := chat.ParseSearch("word")
	if err != nil {
		t.Fatal(err)
	}
	page, err := db.Search(ctx, chat.Search{Query: q, UserID: "u1", Admin: true, Limit: 50})
	if err != nil || len(page.Hits) != 6 {
		t.Fatalf("Search(word) = %d hits, %v; want the 6 live messages", len(page.Hits), err)
	}
}
