package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

func TestMyRoomsUnread(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice, bob := mustUser(t, db, "alice"), mustUser(t, db, "bob")
		mustCreate(t, db, "a", chat.KindPublic, alice)
		mustCreate(t, db, "b", chat.KindPrivate, alice)
		if _, err := db.JoinRoom(ctx, "a", bob, false, nil); err != nil {
			t.Fatal(err)
		}
		mine := func(u chat.User) map[string]chat.MyRoom {
			t.Helper()
			rs, err := db.MyRooms(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]chat.MyRoom{}
			for _, r := range rs {
				out[r.Room.Name] = r
			}
			return out
		}
		// seq 1..6 in room a: alice, bob, alice, (edit), alice deleted, bob.
		mustAppend(t, db, send(alice, "a", "1"))
		mustAppend(t, db, send(bob, "a", "2"))
		m3 := mustAppend(t, db, send(alice, "a", "3"))
		mustEvent(t, db, edit(alice, "a", m3.Seq, "3!", ""))
		m5 := mustAppend(t, db, send(alice, "a", "5"))
		mustEvent(t, db, del(alice, "a", m5.Seq, ""))
		mustAppend(t, db, send(bob, "a", "7"))

		bobs := mine(bob)
		if r := bobs["a"]; r.Unread != 2 || r.LastRead != 0 || r.LastMessage == nil || r.LastMessage.Text != "7" || r.Role != chat.RoleMember {
			t.Fatalf("bob's room a: %+v (last %+v), want 2 unread (messages 1 and 3)", r, r.LastMessage)
		}
		if _, ok := bobs["b"]; ok {
			t.Fatal("bob sees a private room he is not in")
		}
		alices := mine(alice)
		if r := alices["a"]; r.Unread != 2 || r.LastMessage.From != "bob" {
			t.Fatalf("alice's room a: %+v, want 2 unread (bob's)", r)
		}
		if err := db.MarkRead(ctx, []store.ReadMark{{Room: "a", UserID: bob.ID, Seq: 3}, {Room: "a", UserID: alice.ID, Seq: 99}}); err != nil {
			t.Fatal(err)
		}
		if r := mine(bob)["a"]; r.Unread != 0 || r.LastRead != 3 {
			t.Fatalf("after reading to 3: %+v, want 0 unread (the rest is deleted or bob's)", r)
		}
		if r := mine(alice)["a"]; r.LastRead != 0 {
			t.Fatalf("a marker above the newest seq moved: %+v", r)
		}
		if err := db.MarkRead(ctx, []store.ReadMark{{Room: "a", UserID: bob.ID, Seq: 1}}); err != nil {
			t.Fatal(err)
		}
		if r := mine(bob)["a"]; r.LastRead != 3 {
			t.Fatalf("a marker moved back: %+v", r)
		}

		// Most recently active first; an invitation is listed with 0 unread
		// and no message.
		mustAppend(t, db, send(alice, "b", "before bob"))
		mustEvent(t, db, member(alice, bob, "b", chat.ChangeInvited))
		rs, _ := db.MyRooms(ctx, bob.ID)
		if len(rs) != 2 || rs[0].Room.Name != "b" || rs[0].State != chat.StateInvited || rs[0].Unread != 0 || rs[0].LastMessage != nil {
			t.Fatalf("bob's rooms %+v, want b (invited) first", rs)
		}

		// A DM that bob leaves is hidden until its next message.
		dm, _ := db.DirectRoom(ctx, alice, bob)
		mustAppend(t, db, send(alice, dm.Name, "psst"))
		if err := db.HideDirect(ctx, dm.Name, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, ok := mine(bob)[dm.Name]; ok {
			t.Fatal("left DM still listed")
		}
		if _, ok := mine(alice)[dm.Name]; !ok {
			t.Fatal("DM hidden from the other member")
		}
		mustAppend(t, db, send(alice, dm.Name, "again"))
		if r, ok := mine(bob)[dm.Name]; !ok || r.Unread != 2 {
			t.Fatalf("DM after a new message: %+v, %v", r, ok)
		}
	})
}

func TestSuspend(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice := mustUser(t, db, "alice")
		hash := []byte("0123456789abcdef0123456789abcdef")
		s, err := db.CreateSession(ctx, alice.ID, hash, timeNowPlusHour())
		if err != nil {
			t.Fatal(err)
		}
		ids, err := db.SetSuspended(ctx, alice.ID, true)
		if err != nil || !slices.Equal(ids, []string{s.ID}) {
			t.Fatalf("SetSuspended = %v, %v; want [%s]", ids, err, s.ID)
		}
		if got, _ := db.Session(ctx, s.ID); got.RevokedAt.IsZero() {
			t.Fatal("session not revoked")
		}
		if u, _, _ := db.UserByName(ctx, "alice"); u.SuspendedAt.IsZero() {
			t.Fatal("UserByName does not report the suspension")
		}
		if ok, err := db.SuspendedByRefresh(ctx, hash); err != nil || !ok {
			t.Fatalf("SuspendedByRefresh = %v, %v", ok, err)
		}
		if ids, err := db.SetSuspended(ctx, alice.ID, false); err != nil || len(ids) != 0 {
			t.Fatalf("unsuspend = %v, %v", ids, err)
		}
		if u, _ := db.UserByID(ctx, alice.ID); !u.SuspendedAt.IsZero() {
			t.Fatal("still suspended")
		}
		if _, err := db.SetSuspended(ctx, "nobody", true); chat.ErrorCode(err) != chat.CodeNotFound {
			t.Fatalf("suspending an unknown user: %v", err)
		}
	})
}

// TestMigrateFromV1 builds a database with only the first migration, stores
// v1 data in it, and checks that opening it migrates every message with
// its seq and makes its rooms public rooms without owners.
func TestMigrateFromV1(t *testing.T) {
	eachDialectURL(t, func(t *testing.T, url string) {
		ctx := testCtx(t)
		d := store.DialectPostgres
		if strings.HasPrefix(url, "sqlite:") {
			d = store.DialectSQLite
		}
		raw, p := store.RawProvider(t, d, url)
		if _, err := p.UpTo(ctx, 1); err != nil {
			t.Fatal(err)
		}
		ts := any(int64(1764000000000))
		if d == store.DialectPostgres {
			ts = "2025-11-24T16:00:00Z"
		}
		v1 := []string{
			`INSERT INTO users (id, username, password_hash, created_at) VALUES ('u1', 'alice', 'h', $1)`,
			`INSERT INTO rooms (name, created_at, last_seq) VALUES ('general', $1, 2)`,
			`INSERT INTO rooms (name, created_at, last_seq) VALUES ('old', $1, 1)`,
			`INSERT INTO messages (room, seq, id, user_id, text, ts, ref) VALUES ('general', 1, 'm1', 'u1', 'one', $1, 'r1')`,
			`INSERT INTO messages (room, seq, id, user_id, text, ts) VALUES ('general', 2, 'm2', 'u1', 'two', $1)`,
			`INSERT INTO messages (room, seq, id, user_id, text, ts) VALUES ('old', 1, 'm3', 'u1', 'three', $1)`,
		}
		for _, q := range v1 {
			if _, err := raw.ExecContext(ctx, q, ts); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db := mustOpen(t, url, store.Options{})
		defer db.Close()
		for _, c := range []struct {
			room  string
			texts []string
		}{{"general", []string{"one", "two"}}, {"old", []string{"three"}}} {
			r, err := db.Room(ctx, c.room)
			if err != nil || r.Kind != chat.KindPublic || r.OwnerID != "" || r.LastSeq != int64(len(c.texts)) || r.MsgCount != r.LastSeq || r.LastEventAt.IsZero() {
				t.Fatalf("migrated room %+v, %v", r, err)
			}
			h, _, err := db.History(ctx, c.room, 0, 10)
			if err != nil || len(h) != len(c.texts) {
				t.Fatalf("history of %s: %v, %v", c.room, h, err)
			}
			for i, m := range h {
				if m.Seq != int64(i+1) || m.Text != c.texts[i] || m.From != "alice" || m.Deleted || !m.EditedAt.IsZero() {
					t.Fatalf("migrated message %+v", m)
				}
			}
		}
		// The next message continues the seq and the ord.
		u, _ := db.UserByID(ctx, "u1")
		if m := mustAppend(t, db, send(u, "general", "after")); m.Seq != 3 {
			t.Fatalf("next seq %d, want 3", m.Seq)
		}
		if rs, err := db.MyRooms(ctx, "u1"); err != nil || len(rs) != 0 {
			t.Fatalf("MyRooms after migration = %v, %v; v1 had no memberships", rs, err)
		}
	})
}

func timeNowPlusHour() time.Time { return time.Now().Add(time.Hour) }
