package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

func names(rs []chat.Room) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestCreateListDeleteRooms(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice, bob, carol := mustUser(t, db, "alice"), mustUser(t, db, "bob"), mustUser(t, db, "carol")
		r := mustCreate(t, db, "ops", chat.KindPrivate, alice)
		if r.Kind != chat.KindPrivate || r.Owner != "alice" || r.MemberCount != 1 {
			t.Fatalf("created %+v", r)
		}
		got, err := db.Room(ctx, "ops")
		if err != nil || got.OwnerID != alice.ID || got.Owner != "alice" || got.Kind != chat.KindPrivate || got.MemberCount != 1 {
			t.Fatalf("Room = %+v, %v", got, err)
		}
		if mb, _ := db.Membership(ctx, "ops", alice.ID); mb.Role != chat.RoleOwner || mb.State != chat.StateMember {
			t.Fatalf("owner membership %+v", mb)
		}
		mustCreate(t, db, "pub", chat.KindPublic, alice)
		for _, name := range []string{"ops", "pub", "general"} {
			if _, err := db.CreateRoom(ctx, name, chat.KindPublic, "", bob); !errors.Is(err, chat.ErrRoomExists) {
				t.Errorf("CreateRoom(%s) again: %v, want room_exists", name, err)
			}
		}
		mustEvent(t, db, member(alice, bob, "ops", chat.ChangeInvited))
		dm, err := db.DirectRoom(ctx, alice, carol)
		if err != nil {
			t.Fatal(err)
		}
		list := func(u chat.User, admin bool) []string {
			t.Helper()
			rs, more, err := db.RoomsFor(ctx, u.ID, admin, "", 100)
			if err != nil || more {
				t.Fatalf("RoomsFor: %v %v", more, err)
			}
			return names(rs)
		}
		tests := []struct {
			who   chat.User
			admin bool
			want  []string
		}{
			{alice, false, []string{dm.Name, "general", "ops", "pub"}},
			{bob, false, []string{"general", "ops", "pub"}},
			{carol, false, []string{dm.Name, "general", "pub"}},
			{carol, true, []string{dm.Name, "general", "ops", "pub"}},
			{mustUser(t, db, "dave"), true, []string{"general", "ops", "pub"}},
		}
		for _, tc := range tests {
			want := slices.Sorted(slices.Values(tc.want))
			if got := list(tc.who, tc.admin); !slices.Equal(got, want) {
				t.Errorf("%s (admin %v) sees %v, want %v", tc.who.Username, tc.admin, got, want)
			}
		}

		mustAppend(t, db, send(alice, "ops", "secret"))
		ids, err := db.DeleteRoom(ctx, "ops")
		if err != nil || !slices.Equal(ids, []string{alice.ID}) {
			t.Fatalf("DeleteRoom = %v, %v; want alice's id", ids, err)
		}
		gone, err := db.Room(ctx, "ops")
		if err != nil || gone.DeletedAt.IsZero() {
			t.Fatalf("deleted room reads %+v, %v", gone, err)
		}
		if h, _, err := db.History(ctx, "ops", 0, 10); err != nil || len(h) != 0 {
			t.Fatalf("history of a deleted room %v, %v", h, err)
		}
		if mb, _ := db.Membership(ctx, "ops", bob.ID); mb.State != "" {
			t.Fatalf("membership survived deletion: %+v", mb)
		}
		if _, _, err := db.Append(ctx, send(alice, "ops", "late")); !errors.Is(err, chat.ErrNotFound) {
			t.Fatalf("append to a deleted room: %v", err)
		}
		if _, err := db.CreateRoom(ctx, "ops", chat.KindPublic, "", bob); !errors.Is(err, chat.ErrRoomExists) {
			t.Fatalf("reusing a deleted room's name: %v", err)
		}
		if _, err := db.DeleteRoom(ctx, "ops"); !errors.Is(err, chat.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		if got := list(alice, true); slices.Contains(got, "ops") {
			t.Fatalf("deleted room listed: %v", got)
		}
	})
}

func TestDirectRoom(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice, bob := mustUser(t, db, "alice"), mustUser(t, db, "bob")
		a, err := db.DirectRoom(ctx, alice, bob)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.DirectRoom(ctx, bob, alice)
		if err != nil || b.Name != a.Name {
			t.Fatalf("bob's DM %q, %v; alice's %q", b.Name, err, a.Name)
		}
		if a.Kind != chat.KindDirect || a.OwnerID != "" || a.MemberCount != 2 || len(a.Name) > chat.MaxRoomLen {
			t.Fatalf("direct room %+v", a)
		}
		if _, err := chat.NormalizeRoom(a.Name); err != nil {
			t.Fatalf("direct room name %q is not a room name: %v", a.Name, err)
		}
		for _, u := range []chat.User{alice, bob} {
			if mb, _ := db.Membership(ctx, a.Name, u.ID); mb.Role != chat.RoleMember || mb.State != chat.StateMember {
				t.Fatalf("%s's membership %+v", u.Username, mb)
			}
		}
	})
}

func TestJoinRoom(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := testCtx(t)
		alice, bob, carol := mustUser(t, db, "alice"), mustUser(t, db, "bob"), mustUser(t, db, "carol")

		res, err := db.JoinRoom(ctx, "fresh", alice, false, nil)
		if err != nil || !res.Created || res.Room.Owner != "alice" || res.Room.Kind != chat.KindPublic || res.Member.Role != chat.RoleOwner {
			t.Fatalf("join of a new name = %+v, %v", res, err)
		}
		refuse := errors.New("limited")
		if _, err := db.JoinRoom(ctx, "fresh2", alice, false, func() error { return refuse }); !errors.Is(err, refuse) {
			t.Fatalf("refused creation: %v", err)
		}
		if _, err := db.Room(ctx, "fresh2"); !errors.Is(err, chat.ErrNotFound) {
			t.Fatalf("a refused creation made the room: %v", err)
		}
		if _, err := db.JoinRoom(ctx, "dm-new", alice, false, nil); chat.ErrorCode(err) != chat.CodeInvalidRoom {
			t.Fatalf("join of a new dm- name: %v", err)
		}

		mustAppend(t, db, send(alice, "fresh", "hi"))
		res, err = db.JoinRoom(ctx, "fresh", bob, false, nil)
		if err != nil || res.Created || res.Event != nil || res.Member.State != chat.StateMember || res.Member.LastRead != 1 || res.Room.MemberCount != 2 {
			t.Fatalf("bob joins a public room = %+v, %v", res, err)
		}
		if r, _ := db.Room(ctx, "fresh"); r.LastSeq != 1 {
			t.Fatalf("a public join stored an event: last_seq %d", r.LastSeq)
		}
		if res, err = db.JoinRoom(ctx, "fresh", bob, false, nil); err != nil || res.Room.MemberCount != 2 {
			t.Fatalf("joining again = %+v, %v", res, err)
		}

		mustCreate(t, db, "priv", chat.KindPrivate, alice)
		if _, err := db.JoinRoom(ctx, "priv", bob, false, nil); !errors.Is(err, chat.ErrRoomNotFound) {
			t.Fatalf("uninvited join of a private room: %v", err)
		}
		mustEvent(t, db, member(alice, bob, "priv", chat.ChangeInvited))
		res, err = db.JoinRoom(ctx, "priv", bob, false, nil)
		if err != nil || res.Event == nil || res.Event.Change != chat.ChangeJoined || res.Member.State != chat.StateMember || res.Member.LastRead != res.Event.Seq {
			t.Fatalf("invited join = %+v, %v", res, err)
		}
		if res, err = db.JoinRoom(ctx, "priv", carol, true, nil); err != nil || res.Event == nil {
			t.Fatalf("server admin join of a private room = %+v, %v", res, err)
		}

		mustEvent(t, db, member(alice, carol, "fresh", chat.ChangeBanned))
		if _, err := db.JoinRoom(ctx, "fresh", carol, false, nil); !errors.Is(err, chat.ErrForbidden) {
			t.Fatalf("banned join: %v", err)
		}
		dm, _ := db.DirectRoom(ctx, alice, bob)
		if _, err := db.JoinRoom(ctx, dm.Name, carol, true, nil); !errors.Is(err, chat.ErrRoomNotFound) {
			t.Fatalf("a third user joins a DM: %v", err)
		}
		if _, err := db.JoinRoom(ctx, dm.Name, bob, false, nil); err != nil {
			t.Fatalf("a DM member joins: %v", err)
		}
		db.DeleteRoom(ctx, "fresh")
		if _, err := db.JoinRoom(ctx, "fresh", alice, false, nil); !errors.Is(err, chat.ErrRoomNotFound) {
			t.Fatalf("join of a deleted room: %v", err)
		}
	})
}
