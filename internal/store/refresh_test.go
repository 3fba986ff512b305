package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

// TestRotateRefreshGrace checks the retry window of a spent refresh token:
// its successor, still current, is handed back without a write; a
// successor that moved on is refused without revoking; after the window
// the session is revoked.
func TestRotateRefreshGrace(t *testing.T) {
	const grace = 10 * time.Second
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		now := time.Now()
		s := mustSession(t, db, u.ID, "t1", now.Add(time.Hour))
		_, at, err := db.RotateRefresh(ctx, tokenHash("t1"), tokenHash("t2"), now, grace)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			old, new string
			after    time.Duration
			wantErr  error
			wantAt   time.Time
		}{
			{"retry within the window", "t1", "t2", grace / 2, nil, at},
			{"retry just inside the window", "t1", "t2", grace - time.Millisecond, nil, at},
			{"retry naming another successor", "t1", "t9", time.Second, chat.ErrInvalidToken, time.Time{}},
		}
		for _, tt := range tests {
			got, gotAt, err := db.RotateRefresh(ctx, tokenHash(tt.old), tokenHash(tt.new), now.Add(tt.after), grace)
			if !errors.Is(err, tt.wantErr) || !gotAt.Equal(tt.wantAt) || err == nil && got.ID != s.ID {
				t.Fatalf("%s: %+v, %v, %v; want at %v, err %v", tt.name, got, gotAt, err, tt.wantAt, tt.wantErr)
			}
		}
		if sess, _ := db.Session(ctx, s.ID); !sess.RevokedAt.IsZero() {
			t.Fatal("a retry within the window revoked the session")
		}

		// The successor moves on: a retry of t1 is refused, not answered
		// with a spent token, and the session lives on.
		if _, _, err := db.RotateRefresh(ctx, tokenHash("t2"), tokenHash("t3"), now.Add(time.Second), grace); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.RotateRefresh(ctx, tokenHash("t1"), tokenHash("t2"), now.Add(2*time.Second), grace); !errors.Is(err, chat.ErrInvalidToken) || errors.Is(err, store.ErrReused) {
			t.Fatalf("retry after the successor was spent: %v, want invalid_token without reuse", err)
		}
		if sess, _ := db.Session(ctx, s.ID); !sess.RevokedAt.IsZero() {
			t.Fatal("the session was revoked")
		}

		// After the window, reuse revokes the session.
		got, _, err := db.RotateRefresh(ctx, tokenHash("t2"), tokenHash("t3"), now.Add(time.Second+grace+time.Millisecond), grace)
		if !errors.Is(err, store.ErrReused) || got.ID != s.ID {
			t.Fatalf("reuse after the window: %+v, %v; want ErrReused", got, err)
		}
		if sess, _ := db.Session(ctx, s.ID); sess.RevokedAt.IsZero() {
			t.Fatal("reuse after the window did not revoke the session")
		}
	})
}

func TestLookupRefresh(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		now := time.Now()
		s := mustSession(t, db, u.ID, "t1", now.Add(time.Hour))
		got, spent, err := db.LookupRefresh(ctx, tokenHash("t1"), now)
		if err != nil || got.ID != s.ID || !spent.IsZero() {
			t.Fatalf("current token: %+v, %v, %v", got, spent, err)
		}
		mustRotate(t, db, "t1", "t2", now)
		if _, spent, err := db.LookupRefresh(ctx, tokenHash("t1"), now); err != nil || spent.IsZero() {
			t.Fatalf("spent token: spent at %v, %v", spent, err)
		}
		if _, _, err := db.LookupRefresh(ctx, tokenHash("nope"), now); !errors.Is(err, chat.ErrInvalidToken) {
			t.Fatalf("unknown token: %v", err)
		}
		if _, _, err := db.LookupRefresh(ctx, tokenHash("t2"), now.Add(2*time.Hour)); !errors.Is(err, chat.ErrInvalidToken) {
			t.Fatalf("expired token: %v", err)
		}
	})
}
