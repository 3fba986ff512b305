package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

// The store decides in SQL which rooms a user may read (search) and see
// (the room list), while every other path asks chat.Authorize. The test
// below builds rooms of every kind with users in every kind of
// membership, made through the store's own methods, and checks for each
// room and user that the SQL answers what the Go rules answer: it fails
// when either side changes alone.

// accessUser is a user of the access table and whether they are a server
// admin (CHAT_ADMINS).
type accessUser struct {
	chat.User
	admin bool
}

// accessRooms makes the rooms of the table on db, with a message holding
// word in each, and returns the rooms' names and the users.
func accessRooms(t *testing.T, db *store.DB, word string) ([]string, []accessUser) {
	t.Helper()
	ctx := testCtx(t)
	mk := func(name string, admin bool) accessUser { return accessUser{mustUser(t, db, name), admin} }
	var (
		owner    = mk("owner", false)
		admin    = mk("admin", false)
		plain    = mk("member", false)
		muted    = mk("muted", false)
		invited  = mk("invited", false)
		banned   = mk("banned", false)
		kicked   = mk("kicked", false)
		left     = mk("left", false)
		unbanned = mk("unbanned", false)
		stranger = mk("stranger", false)
		root     = mk("root", true) // a server admin with no membership
		rootBan  = mk("rootban", true)
		rootDM   = mk("rootdm", true)
		peer     = mk("peer", false)
	)
	users := []accessUser{owner, admin, plain, muted, invited, banned, kicked, left, unbanned, stranger, root, rootBan, rootDM, peer}
	ev := func(by accessUser, who accessUser, room, change string) chat.NewMessage {
		return member(by.User, who.User, room, change)
	}
	join := func(room string, u accessUser) {
		t.Helper()
		if _, err := db.JoinRoom(ctx, room, u.User, u.admin, nil); err != nil {
			t.Fatalf("%s joins #%s: %v", u.Username, room, err)
		}
	}
	// populate gives a public or private room, owned by owner, one user
	// in each state.
	populate := func(room, kind string) {
		t.Helper()
		mustCreate(t, db, room, kind, owner.User)
		if kind == chat.KindPrivate {
			for _, u := range []accessUser{admin, plain, muted, invited, banned, kicked, left} {
				mustEvent(t, db, ev(owner, u, room, chat.ChangeInvited))
			}
		}
		for _, u := range []accessUser{admin, plain, muted, banned, kicked, left} {
			join(room, u)
		}
		if kind == chat.KindPublic {
			// Invitations are for private rooms; the store holds one in a
			// public room all the same, and both sides must agree on it.
			mustEvent(t, db, ev(owner, invited, room, chat.ChangeInvited))
		}
		role := ev(owner, admin, room, chat.ChangeRole)
		role.Role = chat.RoleAdmin
		mustEvent(t, db, role)
		mute := ev(admin, muted, room, chat.ChangeMuted)
		mute.Until = time.Now().Add(time.Hour)
		mustEvent(t, db, mute)
		mustEvent(t, db, ev(admin, banned, room, chat.ChangeBanned))
		mustEvent(t, db, ev(owner, rootBan, room, chat.ChangeBanned))
		mustEvent(t, db, ev(admin, kicked, room, chat.ChangeKicked))
		mustEvent(t, db, ev(left, left, room, chat.ChangeLeft))
		mustEvent(t, db, ev(admin, unbanned, room, chat.ChangeBanned))
		mustEvent(t, db, ev(admin, unbanned, room, chat.ChangeUnbanned))
		mustAppend(t, db, send(owner.User, room, word+" in "+room))
	}
	populate("pub", chat.KindPublic)
	populate("priv", chat.KindPrivate)
	populate("pubgone", chat.KindPublic)
	populate("privgone", chat.KindPrivate)
	for _, room := range []string{"pubgone", "privgone"} {
		if _, err := db.DeleteRoom(ctx, room); err != nil {
			t.Fatalf("DeleteRoom(%s): %v", room, err)
		}
	}
	mustAppend(t, db, send(stranger.User, chat.DefaultRoom, word+" in general"))

	// Direct rooms: one of two plain users, one the member hid from their
	// list, one with a server admin in it.
	dm := func(a, b accessUser) string {
		t.Helper()
		r, err := db.DirectRoom(ctx, a.User, b.User)
		if err != nil {
			t.Fatalf("DirectRoom(%s, %s): %v", a.Username, b.Username, err)
		}
		mustAppend(t, db, send(a.User, r.Name, word+" between "+a.Username+" and "+b.Username))
		return r.Name
	}
	direct, hidden, withAdmin := dm(owner, plain), dm(plain, peer), dm(rootDM, peer)
	if err := db.HideDirect(ctx, hidden, plain.ID); err != nil {
		t.Fatal(err)
	}
	return []string{chat.DefaultRoom, "pub", "priv", "pubgone", "privgone", direct, hidden, withAdmin}, users
}

func TestReadableSQLMatchesAuthorize(t *testing.T) {
	const word = "needle"
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		rooms, users := accessRooms(t, db, word)
		// The table holds the memberships it is meant to.
		held := map[string]string{"owner": "owner member", "admin": "admin member", "member": "member member",
			"muted": "member member", "invited": "member invited", "banned": "member banned", "rootban": "member banned"}
		for _, room := range []string{"pub", "priv"} {
			for _, u := range users {
				mb, err := db.Membership(ctx, room, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				got, want := strings.TrimSpace(mb.Role+" "+mb.State), held[u.Username]
				if got != want || mb.Muted(time.Now()) != (u.Username == "muted") {
					t.Fatalf("%s in #%s: %q muted until %v; want %q", u.Username, room, got, mb.MutedUntil, want)
				}
			}
		}
		query, err := chat.ParseSearch(word)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]chat.Room{}
		for _, name := range rooms {
			r, err := db.Room(ctx, name)
			if err != nil {
				t.Fatalf("Room(%s): %v", name, err)
			}
			byName[name] = r
		}
		// live reports whether the room is not deleted.
		live := func(name string) bool { return byName[name].DeletedAt.IsZero() }
		counts := map[bool]int{}
		for _, u := range users {
			// What the Go rules say of each room for u.
			mayRead, maySee := map[string]bool{}, map[string]bool{}
			for _, name := range rooms {
				r := byName[name]
				mb, err := db.Membership(ctx, name, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				actor := chat.Actor{UserID: u.ID, ServerAdmin: u.admin, Member: mb}
				mayRead[name] = chat.Authorize(r, actor, chat.ActRead, chat.Target{}, time.Now()) == nil
				// RoomsFor lists what is visible (chat.Visible), not what
				// may be viewed (ActView): the contract lists every public
				// room, to users banned from it too.
				maySee[name] = chat.Visible(r, actor)
				counts[mayRead[name]]++
			}

			// Search in one room: the SQL predicate (checkReadable, then
			// the search's own condition) against ActRead.
			for _, name := range rooms {
				page, err := db.Search(ctx, chat.Search{Query: query, UserID: u.ID, Admin: u.admin, Room: name, Limit: 100})
				switch {
				case err != nil && !errors.Is(err, chat.ErrNotFound):
					t.Fatalf("Search in #%s as %s: %v", name, u.Username, err)
				case (err == nil) != mayRead[name]:
					t.Errorf("%s in %s #%s: search in the room answers %v, Authorize(ActRead) allows reading: %v",
						u.Username, byName[name].Kind, name, err, mayRead[name])
				case err == nil && live(name) && len(page.Hits) != 1:
					t.Errorf("%s in %s #%s: search in the room found %d messages, want the one planted",
						u.Username, byName[name].Kind, name, len(page.Hits))
				}
			}

			// Search everywhere: the rooms found are the live ones ActRead
			// allows (a deleted room's messages are gone with it).
			page, err := db.Search(ctx, chat.Search{Query: query, UserID: u.ID, Admin: u.admin, Limit: 100})
			if err != nil {
				t.Fatalf("Search as %s: %v", u.Username, err)
			}
			var want []string
			for _, name := range rooms {
				if mayRead[name] && live(name) {
					want = append(want, name)
				}
			}
			slices.Sort(want)
			if got := hitRooms(page); !slices.Equal(got, want) {
				t.Errorf("%s (server admin %v): search finds the word in %v, Authorize(ActRead) allows %v",
					u.Username, u.admin, got, want)
			}

			// The room list against chat.Visible.
			listed, more, err := db.RoomsFor(ctx, u.ID, u.admin, "", 100)
			if err != nil || more {
				t.Fatalf("RoomsFor(%s): %v, more %v", u.Username, err, more)
			}
			want = want[:0]
			for _, name := range rooms {
				if maySee[name] {
					want = append(want, name)
				}
			}
			slices.Sort(want)
			if got := names(listed); !slices.Equal(got, want) {
				t.Errorf("%s (server admin %v): RoomsFor lists %v, chat.Visible allows %v", u.Username, u.admin, got, want)
			}
		}
		// The table is only worth something if it has both answers.
		if counts[true] == 0 || counts[false] == 0 {
			t.Fatalf("the table has %d readable and %d unreadable pairs; want both", counts[true], counts[false])
		}
	})
}
