package ws_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// TestAuthorize checks, on each database, that the frames of a socket obey
// the room's memberships: a private room is not found by a stranger, a
// banned user is forbidden to join, a muted member gets muted for send,
// typing and edit, and none of the refusals stores anything.
func TestAuthorize(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		ctx := context.Background()
		olga, bob, eve := e.user("olga"), e.user("bob"), e.user("eve")
		owner := e.dial(olga.AccessToken)
		member := e.dial(bob.AccessToken)
		stranger := e.dial(eve.AccessToken)
		users := map[string]chat.User{}
		for _, n := range []string{"olga", "bob", "eve"} {
			u, _, err := e.db.UserByName(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			users[n] = u
		}
		if _, err := e.db.CreateRoom(ctx, "secret", chat.KindPrivate, "", users["olga"]); err != nil {
			t.Fatal(err)
		}
		owner.join("club", -1)
		member.join("club", -1)
		store := func(target, change string, until time.Time) {
			ev, _, err := e.db.Append(ctx, chat.NewMessage{Room: "club", UserID: users["olga"].ID, Username: "olga",
				Kind: chat.StreamMember, Member: users[target].ID, MemberName: target, Change: change, Until: until})
			if err != nil {
				t.Fatal(err)
			}
			e.hub.Stored(ctx, ev)
			member.expect(chat.StreamMember)
		}
		store("bob", chat.ChangeMuted, time.Now().Add(time.Hour))
		store("eve", chat.ChangeBanned, time.Time{})

		tests := []struct {
			name  string
			c     *client
			frame frame
			code  string
		}{
			{"private room to a stranger", stranger, frame{"type": "join", "room": "secret", "ref": "j1"}, chat.CodeRoomNotFound},
			{"banned join", stranger, frame{"type": "join", "room": "club", "ref": "j2"}, chat.CodeForbidden},
			{"not joined after a refused join", stranger, frame{"type": "send", "room": "club", "text": "hi", "ref": "s1"}, chat.CodeNotJoined},
			{"muted send", member, frame{"type": "send", "room": "club", "text": "hi", "ref": "s2"}, chat.CodeMuted},
			{"muted typing", member, frame{"type": "typing", "room": "club", "ref": "t1"}, chat.CodeMuted},
			{"muted edit", member, frame{"type": "edit", "room": "club", "seq": 1, "text": "x", "ref": "e1"}, chat.CodeMuted},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.c.send(tt.frame)
				f := tt.c.expect("error")
				if f.str("code") != tt.code || f.str("ref") != tt.frame.str("ref") || f.str("room") != tt.frame.str("room") {
					t.Fatalf("got %v, want code %s", f, tt.code)
				}
			})
		}
		// Only the two member events were stored.
		r, err := e.db.Room(ctx, "club")
		if err != nil || r.LastSeq != 2 {
			t.Fatalf("refused frames stored something: last seq %d (%v), want 2", r.LastSeq, err)
		}
	})
}
