package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/store"
)

func TestActiveSessions(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		u := mustUser(t, db, "alice")
		now := time.Now()
		var ids []string
		for i := range 3 {
			ids = append(ids, mustSession(t, db, u.ID, fmt.Sprint("t", i), now.Add(time.Hour)).ID)
		}
		expired := mustSession(t, db, u.ID, "old", now.Add(-time.Minute))
		if _, err := db.RevokeByRefresh(ctx, tokenHash("t1"), now); err != nil {
			t.Fatal(err)
		}
		// More ids than one query takes, most of them unknown.
		asked := append([]string{expired.ID}, ids...)
		for i := range 700 {
			asked = append(asked, fmt.Sprint("unknown-", i))
		}
		got, err := db.ActiveSessions(ctx, asked, now)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		want := []string{ids[0], ids[2]}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("ActiveSessions = %v, want %v (revoked, expired and unknown left out)", got, want)
		}
		if got, err := db.ActiveSessions(ctx, nil, now); err != nil || len(got) != 0 {
			t.Errorf("ActiveSessions(none) = %v, %v", got, err)
		}
	})
}
