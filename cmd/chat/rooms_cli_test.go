package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

// memberRoles returns "user role state" for each member of room, as the
// caller of api sees them over REST.
func memberRoles(t testing.TB, api *client.Client, room string) []string {
	t.Helper()
	page, err := api.Members(context.Background(), room, "", client.MaxMembersPage)
	if err != nil {
		t.Fatalf("members of #%s: %v", room, err)
	}
	var out []string
	for _, m := range page.Members {
		out = append(out, m.User.Username+" "+m.Role+" "+m.State)
	}
	return out
}

// roomOf returns room as the caller of api sees it over REST.
func roomOf(t testing.TB, api *client.Client, room string) client.Room {
	t.Helper()
	info, err := api.Room(context.Background(), room)
	if err != nil {
		t.Fatalf("room #%s: %v", room, err)
	}
	return info.Room
}

// TestRoomCommands runs a private room's life through the line-mode
// client: made, an invitation, a join, roles, the topic, a hand-over and
// the room's deletion, each checked where the users see it and over REST.
func TestRoomCommands(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, srv *servertest.Server) {
		ctx := context.Background()
		alice, bob := newAccount(t, srv.URL, "alice"), newAccount(t, srv.URL, "bob")
		aliceAPI, bobAPI := restAPI(t, srv.URL, alice), restAPI(t, srv.URL, bob)
		a := startChat(t, alice)
		a.waitErr(t, "joined #general", stepWait)
		b := startChat(t, bob)
		b.waitErr(t, "joined #general", stepWait)

		// /create ROOM makes a public room, owned by its maker, and joins it.
		a.do(t, "/create lobby", "created the public room #lobby")
		a.waitErr(t, "joined #lobby (1 here: alice)", stepWait)
		if r := roomOf(t, bobAPI, "lobby"); r.Kind != client.KindPublic || r.Owner == nil || *r.Owner != "alice" {
			t.Errorf("#lobby over REST: %+v, want public, owned by alice", r)
		}

		// /create ROOM private TOPIC: a private room nobody else sees.
		a.do(t, "/create ops private on call", "created the private room #ops")
		a.waitErr(t, "joined #ops (1 here: alice)", stepWait)
		if r := roomOf(t, aliceAPI, "ops"); r.Kind != client.KindPrivate || r.Topic != "on call" || r.MemberCount != 1 {
			t.Errorf("#ops over REST: %+v, want private, topic \"on call\", one member", r)
		}
		if _, err := bobAPI.Room(ctx, "ops"); !errors.Is(err, client.CodeRoomNotFound) {
			t.Errorf("bob reads the private #ops before an invitation: %v, want room_not_found", err)
		}
		a.do(t, "/create ops", "/create: a room of that name exists or existed (room_exists)")

		// /invite: the invitee's client says so, and lists the room.
		mb := b.mark()
		a.do(t, "/invite bob", "invite: done")
		b.waitErrSince(t, mb, "alice invited you to #ops: /join ops")
		a.waitOut(t, "[ops] * bob was invited by alice\n", stepWait)
		wantLines(t, "bob's /rooms", b.show(t, "/rooms"), "#ops private 0 unread (invited: /join ops)")
		wantLines(t, "alice's /members", a.show(t, "/members"), "  alice owner", "  bob member (invited)")

		b.do(t, "/join ops", "joined #ops (2 here: ")
		a.waitOut(t, "[ops] * bob joined\n", stepWait)

		// /role USER admin, by the owner.
		mb = b.mark()
		a.do(t, "/role bob admin", "role: done")
		b.waitOutSince(t, mb, "[ops] * bob is now admin by alice\n")
		if got, want := memberRoles(t, aliceAPI, "ops"), []string{"alice owner member", "bob admin member"}; !slices.Equal(got, want) {
			t.Errorf("members after /role bob admin: %q, want %q", got, want)
		}

		// /topic TEXT by an admin; /topic shows it; /topic - clears it.
		ma := a.mark()
		b.doOut(t, "/topic deploy at 15:00", "[ops] * bob set the topic: deploy at 15:00\n")
		a.waitOutSince(t, ma, "[ops] * bob set the topic: deploy at 15:00\n")
		a.do(t, "/topic", "#ops: deploy at 15:00")
		if r := roomOf(t, aliceAPI, "ops"); r.Topic != "deploy at 15:00" {
			t.Errorf("topic over REST: %q", r.Topic)
		}
		ma = a.mark()
		b.doOut(t, "/topic -", "[ops] * bob cleared the topic\n")
		a.waitOutSince(t, ma, "[ops] * bob cleared the topic\n")
		b.do(t, "/topic", "#ops has no topic")
		if r := roomOf(t, aliceAPI, "ops"); r.Topic != "" {
			t.Errorf("topic over REST after /topic -: %q, want none", r.Topic)
		}

		// /role USER owner hands the room over; the old owner is an admin.
		mb = b.mark()
		a.do(t, "/role bob owner", "role: done")
		b.waitOutSince(t, mb, "[ops] * bob is now owner by alice\n")
		wantLines(t, "alice's /members after the hand-over", a.show(t, "/members"), "  alice admin", "  bob owner")
		if r := roomOf(t, aliceAPI, "ops"); r.Owner == nil || *r.Owner != "bob" {
			t.Errorf("owner over REST after the hand-over: %v, want bob", r.Owner)
		}

		// /delete-room: refused to an admin, done by the owner; both users'
		// clients say the room is gone.
		a.do(t, "/delete-room ops", "/delete-room: ")
		if s := a.errOut.String(); !strings.Contains(s, "(forbidden)") {
			t.Errorf("alice's /delete-room as an admin: want a forbidden error; stderr:\n%s", s)
		}
		ma = a.mark()
		b.do(t, "/delete-room ops", "deleted #ops")
		a.waitErrSince(t, ma, "#ops was deleted")
		if _, err := aliceAPI.Room(ctx, "ops"); !errors.Is(err, client.CodeRoomNotFound) {
			t.Errorf("#ops over REST after its deletion: %v, want room_not_found", err)
		}
		if _, err := aliceAPI.CreateRoom(ctx, "ops", client.KindPublic, ""); !errors.Is(err, client.CodeRoomExists) {
			t.Errorf("making #ops again: %v, want room_exists", err)
		}

		// With its room gone, a line goes nowhere else: it is refused.
		a.do(t, "anyone there?", "not sent: not in a room")
		for _, room := range []string{"general", "lobby"} {
			for _, m := range restHistory(t, srv.URL, alice, room) {
				if m.Text == "anyone there?" {
					t.Errorf("the line typed after #ops was deleted went to #%s", room)
				}
			}
		}
		a.do(t, "/join lobby", "now in #lobby")
		a.doOut(t, "back in the lobby", "[lobby] alice: back in the lobby\n")
	})
}

// TestRoomsListAndDirectRooms checks /dm (both users in one direct room)
// and /rooms: kinds, unread counts, and the direct room named by the
// other user.
func TestRoomsListAndDirectRooms(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, srv *servertest.Server) {
		ctx := context.Background()
		alice, bob, carol := newAccount(t, srv.URL, "alice"), newAccount(t, srv.URL, "bob"), newAccount(t, srv.URL, "carol")
		aliceAPI, bobAPI, carolAPI := restAPI(t, srv.URL, alice), restAPI(t, srv.URL, bob), restAPI(t, srv.URL, carol)

		// Bob becomes a member of #lobby (public) and #ops (private) and
		// stops; then alice writes in both and carol opens a direct room.
		a := startChat(t, alice)
		a.waitErr(t, "joined #general", stepWait)
		a.do(t, "/create ops private", "joined #ops")
		a.do(t, "/invite bob", "invite: done")
		a.do(t, "/create lobby", "joined #lobby")
		b := startChat(t, bob)
		b.waitErr(t, "joined #general", stepWait)
		b.do(t, "/join lobby", "joined #lobby")
		b.do(t, "/join ops", "joined #ops")
		b.line(t, "/quit")
		if err := b.wait(t, stepWait); err != nil {
			t.Fatalf("bob's /quit: %v", err)
		}
		for i := 1; i <= 3; i++ {
			a.doOut(t, fmt.Sprintf("lobby %d", i), fmt.Sprintf("[lobby] alice: lobby %d\n", i))
		}
		a.do(t, "/join ops", "now in #ops")
		a.doOut(t, "ops 1", "[ops] alice: ops 1\n")

		c := startChat(t, carol)
		c.waitErr(t, "joined #general", stepWait)
		c.do(t, "/dm bob", "joined @bob ")
		c.doOut(t, "hey bob", "[@bob] carol: hey bob\n")
		c.doOut(t, "are you there?", "[@bob] carol: are you there?\n")

		// /rooms: bob's rooms with their kinds and what he has not read,
		// the direct room named by carol; REST agrees.
		b = startChat(t, bob)
		b.waitErr(t, "joined #general", stepWait)
		wantLines(t, "bob's /rooms", b.show(t, "/rooms"),
			"#lobby public 3 unread", "#ops private 1 unread", "@carol direct 2 unread", "#general public 0 unread (current)")
		mine, err := bobAPI.MyRooms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		unread := map[string]string{}
		for _, r := range mine {
			unread[r.Room.Name] = fmt.Sprintf("%s %d", r.Room.Kind, r.Unread)
		}
		dm, err := bobAPI.DM(ctx, "carol")
		if err != nil {
			t.Fatal(err)
		}
		if unread["lobby"] != "public 3" || unread["ops"] != "private 1" || unread[dm.Name] != "direct 2" {
			t.Errorf("bob's rooms over REST: %v", unread)
		}
		// /rooms all: every room bob can see, a public room he never joined
		// too, but not another's private room.
		if _, err := carolAPI.CreateRoom(ctx, "news", client.KindPublic, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := carolAPI.CreateRoom(ctx, "secret", client.KindPrivate, ""); err != nil {
			t.Fatal(err)
		}
		got := b.show(t, "/rooms all")
		wantLines(t, "bob's /rooms all", got, "#news public 0 messages", "@carol direct 2 messages", "#ops private 3 messages")
		if strings.Contains(got, "#secret") {
			t.Errorf("bob's /rooms all lists carol's private #secret:\n%s", got)
		}

		// /dm carol puts bob in the room carol made: he sees her lines, and
		// what he writes reaches her. Each names the room after the other.
		mb := b.mark()
		b.do(t, "/dm carol", "joined @carol ")
		b.waitOutSince(t, mb, "[@carol] carol: are you there?\n")
		if got := b.outSince(mb); !strings.Contains(got, "[@carol] carol: hey bob\n") {
			t.Errorf("bob's /dm carol printed:\n%s\nwant carol's lines", got)
		}
		mc := c.mark()
		b.doOut(t, "hi carol", "[@carol] bob: hi carol\n")
		c.waitOutSince(t, mc, "[@bob] bob: hi carol\n")
		wantLines(t, "bob's /history", b.show(t, "/history 1"), "[@carol] #3 bob: hi carol")
		// A direct room joined by its name on the server is named the same.
		c2 := startChat(t, carol, "-room", dm.Name)
		c2.waitErr(t, "joined @bob ", stepWait)
		for _, cl := range []*cli{b, c, c2} {
			if strings.Contains(cl.out.String()+cl.errOut.String(), dm.Name) {
				t.Errorf("%s's client printed the direct room's name %s:\n%s\n%s", cl.name, dm.Name, cl.out.String(), cl.errOut.String())
			}
		}
		if again, err := carolAPI.DM(ctx, "bob"); err != nil || again.Name != dm.Name || again.Kind != client.KindDirect || again.MemberCount != 2 {
			t.Errorf("carol's direct room with bob: %+v, %v; want %s, direct, two members", again, err, dm.Name)
		}
		if _, err := aliceAPI.Room(ctx, dm.Name); !errors.Is(err, client.CodeRoomNotFound) {
			t.Errorf("alice reads carol and bob's direct room: %v, want room_not_found", err)
		}
	})
}
