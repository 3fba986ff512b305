package hub

import (
	"testing"
	"testing/synctest"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// TestDeliverToUser checks that a frame for a user reaches every socket of
// that user on this node, and no other.
func TestDeliverToUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h := testHub(t, db, Options{})
		a1, a2 := attach(t, h, "alice", 64), attach(t, h, "alice", 64)
		b := attach(t, h, "bob", 64)
		for _, c := range []*fakeClient{a1, a2, b} {
			c.sock.take(t)
		}
		n := h.DeliverToUser(a1.c.UserID(), chat.LeftFrame{Type: chat.TypeLeft, Room: "news"})
		if n != 2 {
			t.Fatalf("delivered to %d sockets, want 2", n)
		}
		for _, c := range []*fakeClient{a1, a2} {
			if got := c.sock.take(t); len(got) != 1 || got[0]["room"] != "news" {
				t.Fatalf("alice's socket got %v", got)
			}
		}
		if got := b.sock.take(t); len(got) != 0 {
			t.Fatalf("bob got %v", got)
		}
		// A detached socket leaves the user's index; the last one takes
		// the user out of it.
		a1.detach()
		if n := h.DeliverToUser(a2.c.UserID(), chat.LeftFrame{Type: chat.TypeLeft, Room: "news"}); n != 1 {
			t.Fatalf("after one detached, delivered to %d sockets, want 1", n)
		}
		a2.detach()
		if n := h.DeliverToUser(a2.c.UserID(), chat.LeftFrame{Type: chat.TypeLeft, Room: "news"}); n != 0 {
			t.Fatalf("after both detached, delivered to %d sockets, want 0", n)
		}
		s := h.userShard(a2.c.UserID())
		s.mu.Lock()
		_, listed := s.byUser[a2.c.UserID()]
		s.mu.Unlock()
		if listed {
			t.Fatal("a user without sockets is still in the registry's index")
		}
	})
}

// TestRemoveFromRoom checks that removing a user from a room ends every
// socket's membership with a final left frame, tells the others the user
// left, stops deliveries from the room, and lets the user join again.
func TestRemoveFromRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h := testHub(t, db, Options{})
		a1, a2 := attach(t, h, "alice", 64), attach(t, h, "alice", 64)
		b := attach(t, h, "bob", 64)
		for _, c := range []*fakeClient{a1, a2, b} {
			c.do(t, join("club", -1))
		}
		b.do(t, send("club", "before"))
		for _, c := range []*fakeClient{a1, a2, b} {
			c.sock.take(t)
		}
		if n := h.RemoveFromRoom(a1.c.UserID(), "club", chat.LeftKicked); n != 2 {
			t.Fatalf("removed %d sockets, want 2", n)
		}
		b.do(t, send("club", "after"))
		for _, c := range []*fakeClient{a1, a2} {
			got := c.sock.take(t)
			if len(got) != 1 || got[0]["type"] != chat.TypeLeft || got[0]["room"] != "club" {
				t.Fatalf("alice's socket got %v, want one left frame", got)
			}
		}
		var presence []string
		for _, f := range b.sock.take(t) {
			if f["type"] == chat.TypePresence && f["user"] == "alice" {
				presence = append(presence, f["event"].(string))
			}
		}
		if len(presence) != 1 || presence[0] != chat.PresenceLeave {
			t.Fatalf("bob saw alice's presence %v, want one leave", presence)
		}
		a1.do(t, send("club", "refused"))
		if got := a1.sock.take(t); len(got) != 1 || got[0]["code"] != chat.CodeNotJoined {
			t.Fatalf("send after removal got %v, want not_joined", got)
		}
		a1.do(t, join("club", -1))
		b.do(t, send("club", "again"))
		if got := seqs(a1.sock.take(t)); len(got) != 1 || got[0] != 3 {
			t.Fatalf("after joining again alice got seqs %v, want [3]", got)
		}
	})
}
