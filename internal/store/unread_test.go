package store_test

import (
	"strconv"
	"sync"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

// wantUnread counts from the room's history the messages after lastRead
// that are neither userID's own nor deleted.
func wantUnread(t *testing.T, db *store.DB, room, userID string, lastRead int64) int64 {
	t.Helper()
	h, _, err := db.History(testCtx(t), room, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, m := range h {
		if m.Seq > lastRead && m.FromID != userID && !m.Deleted {
			n++
		}
	}
	return n
}

// checkUnread compares the unread count of each user's rooms with the count
// from their history at the user's read marker.
func checkUnread(t *testing.T, db *store.DB, step string, users ...chat.User) {
	t.Helper()
	for _, u := range users {
		rs, err := db.MyRooms(testCtx(t), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if want := wantUnread(t, db, r.Room.Name, u.ID, r.LastRead); r.Unread != want {
				t.Errorf("%s: %s in %s, read to %d: unread %d, want %d", step, u.Username, r.Room.Name, r.LastRead, r.Unread, want)
			}
		}
	}
}

// sweepUnread moves each user's read marker in room through every seq of
// the room, checking the unread count at each.
func sweepUnread(t *testing.T, db *store.DB, room string, users ...chat.User) {
	t.Helper()
	r, err := db.Room(testCtx(t), room)
	if err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= r.LastSeq; seq++ {
		marks := make([]store.ReadMark, len(users))
		for i, u := range users {
			marks[i] = store.ReadMark{Room: room, UserID: u.ID, Seq: seq}
		}
		if err := db.MarkRead(testCtx(t), marks); err != nil {
			t.Fatal(err)
		}
		checkUnread(t, db, "read to "+strconv.FormatInt(seq, 10), users...)
	}
}

// sendAll appends n messages of each user to each room at once, so that
// many of them share a batch.
func sendAll(t *testing.T, db *store.DB, n int, rooms []string, users ...chat.User) []chat.Message {
	t.Helper()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out []chat.Message
	)
	for _, room := range rooms {
		for _, u := range users {
			for i := range n {
				wg.Go(func() {
					m, _, err := db.Append(testCtx(t), chat.NewMessage{Room: room, UserID: u.ID, Username: u.Username, Text: "m" + strconv.Itoa(i)})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					out = append(out, m)
					mu.Unlock()
				})
			}
		}
	}
	wg.Wait()
	return out
}

// TestMyRoomsUnreadOwnMessages checks unread counts against the history
// while users send in turn and at once in two rooms, delete their own and
// others' messages, and leave and rejoin; then at every marker position.
func TestMyRoomsUnreadOwnMessages(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice, bob, carol := mustUser(t, db, "alice"), mustUser(t, db, "bob"), mustUser(t, db, "carol")
		rooms := []string{"x", "y"}
		for _, name := range rooms {
			mustCreate(t, db, name, chat.KindPublic, alice)
			for _, u := range []chat.User{bob, carol} {
				if _, err := db.JoinRoom(ctx, name, u, false, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		all := []chat.User{alice, bob, carol}
		for i, u := range []chat.User{alice, bob, alice, carol, alice, alice, bob} {
			mustAppend(t, db, send(u, rooms[i%2], "turn"+strconv.Itoa(i)))
			mustAppend(t, db, send(u, "x", "x"+strconv.Itoa(i)))
		}
		checkUnread(t, db, "in turn", all...)
		at := sendAll(t, db, 8, rooms, all...)
		checkUnread(t, db, "at once", all...)

		// alice deletes one of her own and one of bob's; bob one of his;
		// carol edits one of hers.
		byFrom := map[string][]chat.Message{}
		for _, m := range at {
			byFrom[m.FromID] = append(byFrom[m.FromID], m)
		}
		a, b, c := byFrom[alice.ID], byFrom[bob.ID], byFrom[carol.ID]
		mustEvent(t, db, del(alice, a[3].Room, a[3].Seq, ""))
		mustEvent(t, db, del(alice, b[5].Room, b[5].Seq, ""))
		mustEvent(t, db, del(bob, b[0].Room, b[0].Seq, ""))
		mustEvent(t, db, edit(carol, c[2].Room, c[2].Seq, "edited", ""))
		checkUnread(t, db, "after deletes", all...)

		// bob leaves x, misses some messages, sends again after rejoining.
		mustEvent(t, db, member(bob, bob, "x", chat.ChangeLeft))
		mustAppend(t, db, send(alice, "x", "while bob is away"))
		if _, err := db.JoinRoom(ctx, "x", bob, false, nil); err != nil {
			t.Fatal(err)
		}
		checkUnread(t, db, "rejoined", all...)
		sendAll(t, db, 3, []string{"x"}, bob, alice)
		checkUnread(t, db, "after rejoining", all...)

		for _, name := range rooms {
			sweepUnread(t, db, name, all...)
		}
	})
}
