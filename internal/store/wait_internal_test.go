package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// TestWaitOutlivesContextOnceStarted checks the two sides of a submitted
// append whose caller's context ends: before its batch begins it is given
// up and never written; once its batch has begun, Wait returns the
// batch's outcome, not the context's error, so a stored message is never
// reported as failed.
func TestWaitOutlivesContextOnceStarted(t *testing.T) {
	db := openInternal(t, DialectSQLite)
	u, err := db.CreateUser(t.Context(), "alice", "h")
	if err != nil {
		t.Fatal(err)
	}
	msg := func(text string) chat.NewMessage {
		return chat.NewMessage{Room: chat.DefaultRoom, UserID: u.ID, Username: u.Username, Text: text}
	}

	t.Run("begun", func(t *testing.T) {
		// Another connection holds SQLite's write lock, so the batch that
		// takes the append waits in BEGIN (within busy_timeout).
		lock := holdWriteLock(t, db)
		ctx, cancel := context.WithCancel(t.Context())
		p, err := db.Submit(ctx, msg("kept"))
		if err != nil {
			t.Fatal(err)
		}
		req := p.(*appendReq)
		deadline := time.Now().Add(5 * time.Second)
		for req.state.Load() != reqStarted {
			if time.Now().After(deadline) {
				t.Fatal("the committer did not take the append")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		done := make(chan error, 1)
		var got chat.Message
		go func() {
			var err error
			got, _, err = p.Wait(ctx)
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Wait returned %v while the append's batch was still running", err)
		case <-time.After(100 * time.Millisecond):
		}
		lock()
		if err := <-done; err != nil || got.Seq == 0 {
			t.Fatalf("Wait = %+v, %v; want the stored message", got, err)
		}
	})

	t.Run("not begun", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req := &appendReq{m: msg("dropped"), gone: ctx.Done(), res: make(chan appendResult, 1)}
		cancel()
		if _, _, err := req.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait = %v, want context.Canceled", err)
		}
		// The committer now skips it, even with its context still open.
		req.gone = nil
		db.commitBatch([]*appendReq{req})
		select {
		case r := <-req.res:
			t.Fatalf("given-up append answered: %+v", r)
		default:
		}
		page, _, err := db.After(t.Context(), chat.DefaultRoom, 0, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			if m.Text == "dropped" {
				t.Fatalf("given-up append stored: %+v", m)
			}
		}
	})
}

// holdWriteLock takes SQLite's write lock on db's file from a connection of
// its own and returns the function that releases it.
func holdWriteLock(t *testing.T, db *DB) func() {
	t.Helper()
	var path string
	if err := db.w.QueryRowContext(t.Context(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	tx, err := other.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := tx.Commit(); err != nil {
			t.Error(err)
		}
	}
}
