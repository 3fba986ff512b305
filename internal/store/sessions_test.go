package store_test

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

// tokenHash returns the stored form of a refresh token.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// mustSession creates a session of user userID whose refresh token is token,
// expiring at exp.
func mustSession(t testing.TB, db *store.DB, userID, token string, exp time.Time) chat.Session {
	t.Helper()
	s, err := db.CreateSession(testCtx(t), userID, tokenHash(token), exp)
	if err != nil {
		t.Fatalf("CreateSession(%s): %v", token, err)
	}
	return s
}

// mustRotate rotates refresh token old to new at now, without a grace
// window.
func mustRotate(t testing.TB, db *store.DB, old, new string, now time.Time) {
	t.Helper()
	if _, _, err := db.RotateRefresh(testCtx(t), tokenHash(old), tokenHash(new), now, 0); err != nil {
		t.Fatalf("RotateRefresh(%s to %s): %v", old, new, err)
	}
}

func TestSessionCreate(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		// Nanoseconds are dropped: times round-trip with millisecond precision.
		exp := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
		s, err := db.CreateSession(ctx, u.ID, tokenHash("t1"), exp)
		if err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		wantExp := time.Date(2031, 5, 6, 6, 8, 9, 123000000, time.UTC)
		if s.ID == "" || s.UserID != u.ID || !s.ExpiresAt.Equal(wantExp) || !s.RevokedAt.IsZero() || s.CreatedAt.IsZero() {
			t.Errorf("CreateSession = %+v", s)
		}
		got, err := db.Session(ctx, s.ID)
		if err != nil {
			t.Fatalf("Session: %v", err)
		}
		if got != s {
			t.Errorf("Session = %+v, want %+v", got, s)
		}
		if got.ExpiresAt.Location() != time.UTC || got.ExpiresAt.Nanosecond() != 123000000 {
			t.Errorf("ExpiresAt = %v, want UTC with milliseconds", got.ExpiresAt)
		}
		if _, err := db.Session(ctx, "no-such-session"); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("Session(unknown): err = %v, want ErrNotFound", err)
		}
		s2, err := db.CreateSession(ctx, u.ID, tokenHash("t2"), exp)
		if err != nil {
			t.Fatalf("second CreateSession: %v", err)
		}
		if s2.ID <= s.ID {
			t.Errorf("session ids not increasing: %q then %q", s.ID, s2.ID)
		}
	})
}

func TestRotateRefresh(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		now := time.Now()
		s := mustSession(t, db, u.ID, "t1", now.Add(time.Hour))

		got, _, err := db.RotateRefresh(ctx, tokenHash("t1"), tokenHash("t2"), now, 0)
		if err != nil {
			t.Fatalf("rotate t1: %v", err)
		}
		if got.ID != s.ID || !got.ExpiresAt.Equal(s.ExpiresAt) || !got.RevokedAt.IsZero() {
			t.Errorf("rotate t1 = %+v, want session %+v", got, s)
		}
		// The session does not slide: later rotations keep its expiry.
		got, _, err = db.RotateRefresh(ctx, tokenHash("t2"), tokenHash("t3"), now.Add(30*time.Minute), 0)
		if err != nil {
			t.Fatalf("rotate t2: %v", err)
		}
		if !got.ExpiresAt.Equal(s.ExpiresAt) {
			t.Errorf("rotate t2: ExpiresAt = %v, want %v", got.ExpiresAt, s.ExpiresAt)
		}

		if _, _, err := db.RotateRefresh(ctx, tokenHash("unknown"), tokenHash("x"), now, 0); !errors.Is(err, chat.ErrInvalidToken) {
			t.Errorf("rotate unknown: err = %v, want ErrInvalidToken", err)
		}

		// Presenting the spent t1 again revokes the whole session.
		reuseAt := now.Add(40 * time.Minute)
		got, _, err = db.RotateRefresh(ctx, tokenHash("t1"), tokenHash("t4"), reuseAt, 0)
		if !errors.Is(err, store.ErrReused) {
			t.Fatalf("reuse t1: err = %v, want ErrReused", err)
		}
		if chat.ErrorCode(err) != chat.CodeInvalidToken {
			t.Errorf("reuse t1: code = %q, want invalid_token", chat.ErrorCode(err))
		}
		if got.ID != s.ID || !got.RevokedAt.Equal(reuseAt.Truncate(time.Millisecond)) {
			t.Errorf("reuse t1 = %+v, want session %s revoked at %v", got, s.ID, reuseAt)
		}
		stored, err := db.Session(ctx, s.ID)
		if err != nil || stored.RevokedAt.IsZero() || stored.Active(reuseAt) {
			t.Errorf("session after reuse = %+v, %v; want revoked", stored, err)
		}
		// The current token t3 of the revoked session no longer rotates, nor
		// does the token the failed reuse named.
		for _, tok := range []string{"t3", "t4", "t1"} {
			if _, _, err := db.RotateRefresh(ctx, tokenHash(tok), tokenHash("t5"), reuseAt, 0); !errors.Is(err, chat.ErrInvalidToken) {
				t.Errorf("rotate %s after revocation: err = %v, want ErrInvalidToken", tok, err)
			}
		}
	})
}

func TestRotateRefreshExpired(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		now := time.Now()
		mustSession(t, db, u.ID, "t1", now.Add(time.Minute))
		later := now.Add(2 * time.Minute)
		if _, _, err := db.RotateRefresh(ctx, tokenHash("t1"), tokenHash("t2"), later, 0); !errors.Is(err, chat.ErrInvalidToken) {
			t.Errorf("rotate expired: err = %v, want ErrInvalidToken", err)
		}
		if _, err := db.RevokeByRefresh(ctx, tokenHash("t1"), later); !errors.Is(err, chat.ErrInvalidToken) {
			t.Errorf("logout expired: err = %v, want ErrInvalidToken", err)
		}
		// Before its expiry the token still works: the failures above were
		// about time, not about the token.
		if _, _, err := db.RotateRefresh(ctx, tokenHash("t1"), tokenHash("t2"), now, 0); err != nil {
			t.Errorf("rotate before expiry: %v", err)
		}
	})
}

func TestRevokeByRefresh(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		now := time.Now()
		s := mustSession(t, db, u.ID, "t1", now.Add(time.Hour))
		other := mustSession(t, db, u.ID, "o1", now.Add(time.Hour))
		mustRotate(t, db, "t1", "t2", now)

		// Logout with the spent t1 revokes the session.
		revokedAt := now.Add(time.Minute)
		got, err := db.RevokeByRefresh(ctx, tokenHash("t1"), revokedAt)
		if err != nil {
			t.Fatalf("logout with spent token: %v", err)
		}
		if got.ID != s.ID || !got.RevokedAt.Equal(revokedAt.Truncate(time.Millisecond)) {
			t.Errorf("logout = %+v, want %s revoked at %v", got, s.ID, revokedAt)
		}
		// Again, with the current and the spent token: idempotent, the first
		// revocation time stays.
		for _, tok := range []string{"t2", "t1", "t2"} {
			got, err := db.RevokeByRefresh(ctx, tokenHash(tok), now.Add(2*time.Minute))
			if err != nil {
				t.Fatalf("logout again with %s: %v", tok, err)
			}
			if got.ID != s.ID || !got.RevokedAt.Equal(revokedAt.Truncate(time.Millisecond)) {
				t.Errorf("logout again with %s = %+v, want revoked at %v", tok, got, revokedAt)
			}
		}
		if _, _, err := db.RotateRefresh(ctx, tokenHash("t2"), tokenHash("t3"), now.Add(3*time.Minute), 0); !errors.Is(err, chat.ErrInvalidToken) {
			t.Errorf("rotate after logout: err = %v, want ErrInvalidToken", err)
		}
		if _, err := db.RevokeByRefresh(ctx, tokenHash("unknown"), now); !errors.Is(err, chat.ErrInvalidToken) {
			t.Errorf("logout unknown: err = %v, want ErrInvalidToken", err)
		}
		// Other sessions of the user are untouched.
		o, err := db.Session(ctx, other.ID)
		if err != nil || !o.RevokedAt.IsZero() {
			t.Errorf("other session = %+v, %v; want live", o, err)
		}
	})
}

func TestPruneExpired(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		now := time.Now()
		short := mustSession(t, db, u.ID, "short1", now.Add(time.Hour))
		mustRotate(t, db, "short1", "short2", now)
		long := mustSession(t, db, u.ID, "long1", now.Add(48*time.Hour))
		m := send(u, chat.DefaultRoom, "hello")
		first := mustAppend(t, db, m)

		n, err := db.PruneExpired(ctx, now)
		if err != nil {
			t.Fatalf("PruneExpired(now): %v", err)
		}
		if n != 0 {
			t.Errorf("PruneExpired(now) = %d, want 0", n)
		}

		// Two hours on: the short session (1 session, 2 tokens) is gone; the
		// message is younger than 24 h so its ref stays.
		n, err = db.PruneExpired(ctx, now.Add(2*time.Hour))
		if err != nil {
			t.Fatalf("PruneExpired(+2h): %v", err)
		}
		if n != 3 {
			t.Errorf("PruneExpired(+2h) = %d, want 3", n)
		}
		if _, err := db.Session(ctx, short.ID); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("pruned session: err = %v, want ErrNotFound", err)
		}
		if _, err := db.RevokeByRefresh(ctx, tokenHash("short2"), now); !errors.Is(err, chat.ErrInvalidToken) {
			t.Errorf("logout with pruned token: err = %v, want ErrInvalidToken", err)
		}
		if _, err := db.Session(ctx, long.ID); err != nil {
			t.Errorf("live session: %v", err)
		}
		if _, dup, err := db.Append(ctx, m); err != nil || !dup {
			t.Errorf("resend within 24h: dup = %v, err = %v; want dup", dup, err)
		}

		// 25 hours on: the ref is cleared and can be used again.
		n, err = db.PruneExpired(ctx, now.Add(25*time.Hour))
		if err != nil {
			t.Fatalf("PruneExpired(+25h): %v", err)
		}
		if n != 1 {
			t.Errorf("PruneExpired(+25h) = %d, want 1 (one ref cleared)", n)
		}
		again, dup, err := db.Append(ctx, m)
		if err != nil || dup {
			t.Fatalf("resend after prune: dup = %v, err = %v; want a new message", dup, err)
		}
		if again.ID == first.ID || again.Seq != first.Seq+1 {
			t.Errorf("resend after prune = %+v, want a new message after %+v", again, first)
		}
		if _, err := db.Session(ctx, long.ID); err != nil {
			t.Errorf("live session after second prune: %v", err)
		}
	})
}
