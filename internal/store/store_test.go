package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// eachDialect runs fn on a fresh store of every dialect, as subtests named
// after the dialect. PostgreSQL subtests skip when CHAT_TEST_POSTGRES_URL is
// unset.
func eachDialect(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			fn(t, storetest.Open(t, d))
		})
	}
}

// eachDialectURL runs fn with the URL of a fresh database of every dialect.
func eachDialectURL(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			fn(t, storetest.URL(t, d))
		})
	}
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustOpen(t testing.TB, url string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(testCtx(t), url, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", url, err)
	}
	return db
}

func mustUser(t testing.TB, db *store.DB, name string) chat.User {
	t.Helper()
	u, err := db.CreateUser(testCtx(t), name, "hash-of-"+name)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

func mustRoom(t testing.TB, db *store.DB, name string) chat.Room {
	t.Helper()
	r, err := db.EnsureRoom(testCtx(t), name)
	if err != nil {
		t.Fatalf("EnsureRoom(%q): %v", name, err)
	}
	return r
}

func mustAppend(t testing.TB, db *store.DB, m chat.NewMessage) chat.Message {
	t.Helper()
	msg, dup, err := db.Append(testCtx(t), m)
	if err != nil {
		t.Fatalf("Append(%+v): %v", m, err)
	}
	if dup {
		t.Fatalf("Append(%+v): unexpected dup", m)
	}
	return msg
}

// send builds a message of u to room with a unique ref.
func send(u chat.User, room, text string) chat.NewMessage {
	return chat.NewMessage{Room: room, UserID: u.ID, Username: u.Username, Text: text, Ref: fmt.Sprintf("ref-%s-%d", text, time.Now().UnixNano())}
}

func TestOpen(t *testing.T) {
	eachDialectURL(t, func(t *testing.T, url string) {
		ctx := testCtx(t)
		for i := range 2 { // the second Open finds the schema migrated
			db := mustOpen(t, url, store.Options{})
			if err := db.Ping(ctx); err != nil {
				t.Fatalf("open %d: Ping: %v", i, err)
			}
			r, err := db.Room(ctx, chat.DefaultRoom)
			if err != nil {
				t.Fatalf("open %d: Room(general): %v", i, err)
			}
			if r.Name != chat.DefaultRoom || r.LastSeq != 0 || r.CreatedAt.IsZero() {
				t.Errorf("open %d: general = %+v", i, r)
			}
			rooms, more, err := db.Rooms(ctx, "", 10)
			if err != nil || more || len(rooms) != 1 {
				t.Errorf("open %d: Rooms = %v, %v, %v; want only general", i, rooms, more, err)
			}
			if err := db.Close(); err != nil {
				t.Fatalf("open %d: Close: %v", i, err)
			}
			if err := db.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		}
	})
}

func TestOpenDialect(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			if got := storetest.Open(t, d).Dialect(); got != d {
				t.Errorf("Dialect() = %q, want %q", got, d)
			}
		})
	}
}

func TestOpenBadURL(t *testing.T) {
	tests := []struct{ name, url string }{
		{"empty", ""},
		{"plain path", "chat.db"},
		{"other scheme", "mysql://localhost/chat"},
		{"sqlite without path", "sqlite:"},
		{"sqlite with query", "sqlite:chat.db?mode=ro"},
		{"sqlite memory", "sqlite::memory:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := store.Open(testCtx(t), tt.url, store.Options{})
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.url)
			}
			var ce *chat.Error
			if errors.As(err, &ce) {
				t.Errorf("Open(%q) error %v is a chat.Error", tt.url, err)
			}
		})
	}
	t.Run("message names the accepted forms", func(t *testing.T) {
		_, err := store.Open(testCtx(t), "mysql://localhost/chat", store.Options{})
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"sqlite:PATH", "postgres://"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
}

func TestUsers(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		before := time.Now().Add(-time.Millisecond)
		alice, err := db.CreateUser(ctx, "alice", "h1")
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if alice.ID == "" || alice.Username != "alice" || alice.CreatedAt.Before(before) || alice.CreatedAt.Location() != time.UTC {
			t.Errorf("CreateUser = %+v", alice)
		}
		bob := mustUser(t, db, "bob")
		if bob.ID <= alice.ID {
			t.Errorf("ids not increasing with creation: %q then %q", alice.ID, bob.ID)
		}

		for _, name := range []string{"alice", "ALICE", "Alice"} {
			if _, err := db.CreateUser(ctx, name, "h2"); !errors.Is(err, chat.ErrUsernameTaken) {
				t.Errorf("CreateUser(%q) again: err = %v, want ErrUsernameTaken", name, err)
			}
		}

		for _, name := range []string{"alice", "ALICE", "aLiCe"} {
			got, hash, err := db.UserByName(ctx, name)
			if err != nil {
				t.Fatalf("UserByName(%q): %v", name, err)
			}
			if got != alice || hash != "h1" {
				t.Errorf("UserByName(%q) = %+v, %q; want %+v, h1", name, got, hash, alice)
			}
		}
		if _, _, err := db.UserByName(ctx, "carol"); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("UserByName(carol): err = %v, want ErrNotFound", err)
		}

		got, err := db.UserByID(ctx, bob.ID)
		if err != nil || got != bob {
			t.Errorf("UserByID(bob) = %+v, %v; want %+v", got, err, bob)
		}
		if _, err := db.UserByID(ctx, "no-such-id"); !errors.Is(err, chat.ErrNotFound) {
			t.Errorf("UserByID(unknown): err = %v, want ErrNotFound", err)
		}
	})
}

func TestRooms(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		if _, err := db.Room(ctx, "nowhere"); !errors.Is(err, chat.ErrNotFound) {
			t.Fatalf("Room(nowhere): err = %v, want ErrNotFound", err)
		}
		names := []string{"zeta", "b_2", "a", "b-1", "b", "c9", "c10"}
		for _, n := range names {
			r := mustRoom(t, db, n)
			if r.Name != n || r.LastSeq != 0 || r.CreatedAt.IsZero() {
				t.Errorf("EnsureRoom(%q) = %+v", n, r)
			}
		}
		// EnsureRoom of an existing room returns it unchanged.
		u := mustUser(t, db, "alice")
		mustAppend(t, db, send(u, "a", "hi"))
		again := mustRoom(t, db, "a")
		if again.LastSeq != 1 {
			t.Errorf("EnsureRoom(a) after one message: LastSeq = %d, want 1", again.LastSeq)
		}

		// Byte-wise order: '-' (0x2d) < '_' (0x5f) < letters; digits compare
		// as characters.
		want := []string{"a", "b", "b-1", "b_2", "c10", "c9", "general", "zeta"}
		for _, limit := range []int{1, 2, 3, 7, 8, 100} {
			t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
				var got []string
				after := ""
				for page := 0; ; page++ {
					rooms, more, err := db.Rooms(ctx, after, limit)
					if err != nil {
						t.Fatalf("Rooms(%q, %d): %v", after, limit, err)
					}
					if len(rooms) > limit {
						t.Fatalf("Rooms(%q, %d) returned %d rooms", after, limit, len(rooms))
					}
					for _, r := range rooms {
						got = append(got, r.Name)
					}
					wantMore := len(got) < len(want)
					if more != wantMore {
						t.Fatalf("page %d: more = %v, want %v (got so far %v)", page, more, wantMore, got)
					}
					if !more {
						break
					}
					after = rooms[len(rooms)-1].Name
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("rooms = %v, want %v", got, want)
				}
			})
		}
		if _, _, err := db.Rooms(ctx, "", 0); chat.ErrorCode(err) != chat.CodeInvalidRequest {
			t.Errorf("Rooms(limit 0): err = %v, want invalid_request", err)
		}
	})
}
