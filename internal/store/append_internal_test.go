package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// These tests drive the committer's batch function directly, so that the
// content of a batch is known exactly.

// openInternal opens a store of the dialect on a fresh database. It mirrors
// storetest, which this package's own tests cannot import.
func openInternal(t *testing.T, dialect string) *DB {
	t.Helper()
	db, err := Open(t.Context(), internalURL(t, dialect), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// internalURL returns the URL of a fresh, empty database of the dialect.
func internalURL(t *testing.T, dialect string) string {
	t.Helper()
	ctx := t.Context()
	var u string
	switch dialect {
	case DialectSQLite:
		u = "sqlite:" + filepath.Join(t.TempDir(), "chat.db")
	case DialectPostgres:
		base := os.Getenv("CHAT_TEST_POSTGRES_URL")
		if base == "" {
			t.Skip("CHAT_TEST_POSTGRES_URL not set: skipping PostgreSQL tests")
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		schema := "t_" + hex.EncodeToString(b[:])
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA "`+schema+`" CASCADE`); err != nil {
				t.Errorf("drop schema: %v", err)
			}
			admin.Close()
		})
		if _, err := admin.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
			t.Fatal(err)
		}
		pu, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := pu.Query()
		q.Set("search_path", schema)
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	return u
}

func eachDialectInternal(t *testing.T, fn func(t *testing.T, db *DB)) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) { fn(t, openInternal(t, d)) })
	}
}

// mustUserInternal creates user name in db.
func mustUserInternal(t testing.TB, db *DB, name string) chat.User {
	t.Helper()
	u, err := db.CreateUser(t.Context(), name, "h")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func reqs(ms ...chat.NewMessage) []*appendReq {
	out := make([]*appendReq, len(ms))
	for i, m := range ms {
		out[i] = &appendReq{m: m, res: make(chan appendResult, 1)}
	}
	return out
}

func TestBatchSameRef(t *testing.T) {
	eachDialectInternal(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		u := mustUserInternal(t, db, "alice")
		msg := func(room, text, ref string) chat.NewMessage {
			return chat.NewMessage{Room: room, UserID: u.ID, Username: u.Username, Text: text, Ref: ref}
		}
		batch := reqs(
			msg("nowhere", "a", "r1"),        // 0: unknown room, claims nothing
			msg(chat.DefaultRoom, "a", "r1"), // 1: stored, seq 1
			msg(chat.DefaultRoom, "a", "r1"), // 2: dup of 1
			msg(chat.DefaultRoom, "b", "r1"), // 3: conflict with 1
			msg("nowhere", "a", "r1"),        // 4: conflict with 1 (room differs)
			msg(chat.DefaultRoom, "c", "r2"), // 5: stored, seq 2
			msg(chat.DefaultRoom, "d", ""),   // 6: stored, seq 3
			msg(chat.DefaultRoom, "d", ""),   // 7: stored, seq 4 (no ref, no dedup)
		)
		res, err := db.appendTx(ctx, batch)
		if err != nil {
			t.Fatalf("appendTx: %v", err)
		}
		if !errors.Is(res[0].err, chat.ErrNotFound) {
			t.Errorf("item 0: err = %v, want ErrNotFound", res[0].err)
		}
		if res[1].err != nil || res[1].dup || res[1].msg.Seq != 1 {
			t.Errorf("item 1 = %+v, want stored with seq 1", res[1])
		}
		if res[2].err != nil || !res[2].dup || res[2].msg != res[1].msg {
			t.Errorf("item 2 = %+v, want a dup of %+v", res[2], res[1].msg)
		}
		for _, i := range []int{3, 4} {
			if !errors.Is(res[i].err, chat.ErrRefConflict) {
				t.Errorf("item %d: err = %v, want ErrRefConflict", i, res[i].err)
			}
		}
		for i, seq := range map[int]int64{5: 2, 6: 3, 7: 4} {
			if res[i].err != nil || res[i].dup || res[i].msg.Seq != seq {
				t.Errorf("item %d = %+v, want stored with seq %d", i, res[i], seq)
			}
		}
		stored1 := res[1].msg
		r, err := db.Room(ctx, chat.DefaultRoom)
		if err != nil || r.LastSeq != 4 {
			t.Errorf("room = %+v, %v; want last_seq 4", r, err)
		}

		// A later batch sees the stored refs.
		res, err = db.appendTx(ctx, reqs(msg(chat.DefaultRoom, "a", "r1"), msg(chat.DefaultRoom, "x", "r2")))
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].dup || res[0].msg != stored1 {
			t.Errorf("resend r1 = %+v, want dup of %+v", res[0], stored1)
		}
		if !errors.Is(res[1].err, chat.ErrRefConflict) {
			t.Errorf("resend r2 with other text: err = %v, want ErrRefConflict", res[1].err)
		}
	})
}

func TestBatchRefWindow(t *testing.T) {
	eachDialectInternal(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		u := mustUserInternal(t, db, "alice")
		m := chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: "hi", Ref: "r"}
		start := time.Now()
		db.now = func() time.Time { return start }
		res, err := db.appendTx(ctx, reqs(m))
		if err != nil || res[0].err != nil {
			t.Fatalf("first: %v %v", err, res)
		}
		first := res[0].msg

		// Just inside the window: a dup, even with the ref not pruned.
		db.now = func() time.Time { return start.Add(refWindow - time.Second) }
		res, err = db.appendTx(ctx, reqs(m))
		if err != nil || !res[0].dup || res[0].msg != first {
			t.Fatalf("inside the window = %+v, %v; want dup of %+v", res[0], err, first)
		}
		// Past it: the ref is free again, for two sends of one batch too.
		db.now = func() time.Time { return start.Add(refWindow + time.Second) }
		res, err = db.appendTx(ctx, reqs(m, m))
		if err != nil {
			t.Fatal(err)
		}
		if res[0].err != nil || res[0].dup || res[0].msg.Seq != 2 {
			t.Errorf("past the window = %+v, want a new message with seq 2", res[0])
		}
		if !res[1].dup || res[1].msg != res[0].msg {
			t.Errorf("second send in the batch = %+v, want dup of %+v", res[1], res[0].msg)
		}
	})
}

func TestBatchIsolatesRefusedItem(t *testing.T) {
	eachDialectInternal(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		u := mustUserInternal(t, db, "alice")
		ok := chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: "ok"}
		// A sender that does not exist violates the users foreign key.
		bad := chat.NewMessage{Room: chat.DefaultRoom, UserID: "no-such-user", Username: "ghost", Text: "boo"}
		batch := reqs(ok, bad, ok)
		db.commitBatch(batch)
		var got []appendResult
		for _, r := range batch {
			got = append(got, <-r.res)
		}
		if got[0].err != nil || got[2].err != nil {
			t.Fatalf("good items failed: %v, %v", got[0].err, got[2].err)
		}
		if got[0].msg.Seq != 1 || got[2].msg.Seq != 2 {
			t.Errorf("good items seqs %d, %d; want 1, 2", got[0].msg.Seq, got[2].msg.Seq)
		}
		if got[1].err == nil || chat.ErrorCode(got[1].err) != chat.CodeInternal {
			t.Errorf("bad item: err = %v, want an internal error", got[1].err)
		}
		if msg := chat.ErrorMessage(got[1].err); msg != "internal error" {
			t.Errorf("bad item message %q leaks the driver error", msg)
		}
		r, err := db.Room(ctx, chat.DefaultRoom)
		if err != nil || r.LastSeq != 2 {
			t.Errorf("room = %+v, %v; want last_seq 2 (no gap)", r, err)
		}
	})
}

func TestCommitSkipsGoneCallers(t *testing.T) {
	db := openInternal(t, DialectSQLite)
	u, err := db.CreateUser(t.Context(), "alice", "h")
	if err != nil {
		t.Fatal(err)
	}
	batch := reqs(
		chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: "gone"},
		chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: "here"},
	)
	gone := make(chan struct{})
	close(gone)
	batch[0].gone = gone
	db.commitBatch(batch)
	r := <-batch[1].res
	if r.err != nil || r.msg.Seq != 1 {
		t.Errorf("live item = %+v, want stored with seq 1", r)
	}
	select {
	case r := <-batch[0].res:
		t.Errorf("gone item answered: %+v", r)
	default:
	}
}
