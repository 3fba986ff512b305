package store_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

const testIssuer = "https://id.example.com"

func TestExternalUser(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		if _, err := db.UserByExternalID(ctx, testIssuer, "sub-1"); !errors.Is(err, chat.ErrNotFound) {
			t.Fatalf("UserByExternalID before any link: %v, want ErrNotFound", err)
		}
		u, err := db.CreateExternalUser(ctx, testIssuer, "sub-1", "Carol", "unusable")
		if err != nil {
			t.Fatalf("CreateExternalUser: %v", err)
		}
		if u.ID == "" || u.Username != "carol" || u.CreatedAt.IsZero() {
			t.Fatalf("CreateExternalUser = %+v", u)
		}
		got, err := db.UserByExternalID(ctx, testIssuer, "sub-1")
		if err != nil || got != u {
			t.Fatalf("UserByExternalID = %+v, %v; want %+v", got, err, u)
		}
		if byName, _, err := db.UserByName(ctx, "carol"); err != nil || byName != u {
			t.Fatalf("UserByName = %+v, %v; want %+v", byName, err, u)
		}

		// The same identity again is the same user, whatever name it asks.
		again, err := db.CreateExternalUser(ctx, testIssuer, "sub-1", "carol2", "unusable")
		if err != nil || again != u {
			t.Fatalf("CreateExternalUser of a linked identity = %+v, %v; want %+v", again, err, u)
		}

		tests := []struct {
			name, issuer, subject, username string
		}{
			{"a local account's name", testIssuer, "sub-2", "alice"},
			{"another identity's name", testIssuer, "sub-3", "carol"},
			{"the same subject at another issuer, same name", "https://other.example.com", "sub-1", "carol"},
		}
		mustUser(t, db, "alice")
		for _, tt := range tests {
			_, err := db.CreateExternalUser(ctx, tt.issuer, tt.subject, tt.username, "unusable")
			if !errors.Is(err, chat.ErrUsernameTaken) {
				t.Errorf("%s: err = %v, want ErrUsernameTaken", tt.name, err)
			}
			if _, err := db.UserByExternalID(ctx, tt.issuer, tt.subject); !errors.Is(err, chat.ErrNotFound) {
				t.Errorf("%s: the identity was linked (%v)", tt.name, err)
			}
		}

		other, err := db.CreateExternalUser(ctx, "https://other.example.com", "sub-1", "carol_other", "unusable")
		if err != nil || other.ID == u.ID {
			t.Fatalf("same subject at another issuer = %+v, %v; want a user of its own", other, err)
		}
	})
}

// TestExternalUserConcurrentFirstSight links one identity from several
// goroutines at once: all get the same user.
func TestExternalUserConcurrentFirstSight(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		const n = 8
		users := make([]chat.User, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				users[i], errs[i] = db.CreateExternalUser(ctx, testIssuer, "racer", "racer", "unusable")
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || users[i] != users[0] {
				t.Fatalf("call %d: %+v, %v; want %+v", i, users[i], errs[i], users[0])
			}
		}
	})
}
