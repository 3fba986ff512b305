package ws_test

import (
	"context"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

// TestSocketLeaveKeepsMembership checks that a WebSocket leave and a
// disconnect never end a membership: an invited user who joined a private
// room, left it on the socket and disconnected joins it again without a new
// invitation, and none of this (nor a public room's plain join) stores a
// stream event; the invitee's join alone stores a member event joined.
func TestSocketLeaveKeepsMembership(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		ctx := context.Background()
		olgaTok, bobTok := e.user("olga").AccessToken, e.user("bob").AccessToken
		olga, _, err := e.db.UserByName(ctx, "olga")
		if err != nil {
			t.Fatal(err)
		}
		bob, _, err := e.db.UserByName(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.CreateRoom(ctx, "team", chat.KindPrivate, "", olga); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.db.Append(ctx, chat.NewMessage{Room: "team", UserID: olga.ID, Username: "olga",
			Kind: chat.StreamMember, Member: bob.ID, MemberName: "bob", Change: chat.ChangeInvited}); err != nil {
			t.Fatal(err)
		}
		lastSeq := func(room string) int64 {
			t.Helper()
			r, err := e.db.Room(ctx, room)
			if err != nil {
				t.Fatal(err)
			}
			return r.LastSeq
		}

		c := e.dial(bobTok)
		_, j := c.join("team", -1)
		if j.num("last_seq") != 2 || lastSeq("team") != 2 {
			t.Fatalf("invitee's join: joined %v, last_seq %d; want the member event joined at seq 2", j, lastSeq("team"))
		}
		c.join("lobby", -1) // a public room: a member, no event
		if m, err := e.db.Membership(ctx, "lobby", bob.ID); err != nil || m.State != chat.StateMember {
			t.Fatalf("public join: membership %+v, %v", m, err)
		}
		if n := lastSeq("lobby"); n != 0 {
			t.Fatalf("a public room's plain join stored %d events", n)
		}
		for _, room := range []string{"team", "lobby"} {
			c.send(frame{"type": "leave", "room": room, "ref": "l-" + room})
			if f := c.expect("left"); f.str("ref") != "l-"+room || f.str("room") != room {
				t.Fatalf("left = %v", f)
			}
		}
		c.c.Close()
		waitGauge(t, "open sockets", e.m.WSConnections, 0)
		for _, room := range []string{"team", "lobby"} {
			if m, err := e.db.Membership(ctx, room, bob.ID); err != nil || m.State != chat.StateMember {
				t.Fatalf("after a socket leave and a disconnect, bob in %s is %+v (%v), want a member", room, m, err)
			}
		}
		if lastSeq("team") != 2 || lastSeq("lobby") != 0 {
			t.Fatalf("a socket leave or a disconnect stored an event: team %d, lobby %d", lastSeq("team"), lastSeq("lobby"))
		}
		// Back without a new invitation.
		c2 := e.dial(bobTok)
		if _, j := c2.join("team", -1); j.num("last_seq") != 2 {
			t.Fatalf("join again: %v", j)
		}
		// The owner sees it in the stream as nothing new: a message is seq 3.
		o := e.dial(olgaTok)
		o.join("team", -1)
		if ack := o.sendMsg("team", "welcome back"); ack.num("seq") != 3 {
			t.Fatalf("next seq %d, want 3", ack.num("seq"))
		}
	})
}
