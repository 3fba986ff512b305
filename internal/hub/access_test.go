package hub

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatsvc/chat/internal/broker"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// moderate stores a member event as the REST API does and hands it to h.
func moderate(t *testing.T, h *Hub, db *store.DB, room, by, target, change string, until time.Time) {
	t.Helper()
	ctx := context.Background()
	ev, _, err := db.Append(ctx, chat.NewMessage{Room: room, UserID: userID(t, h, by), Username: by,
		Kind: chat.StreamMember, Member: userID(t, h, target), MemberName: target, Change: change, Until: until})
	if err != nil {
		t.Fatalf("%s %s: %v", change, target, err)
	}
	h.Stored(ctx, ev)
}

// codes returns the error codes among frames.
func codes(frames []map[string]any) []string {
	var out []string
	for _, f := range frames {
		if f["type"] == chat.TypeError {
			out = append(out, f["code"].(string))
		}
	}
	return out
}

func change(typ, room string, seq int64, text string) chat.ClientFrame {
	f := chat.ClientFrame{Type: typ, Room: room, Seq: &seq, Ref: typ + text}
	if typ == chat.StreamEdit {
		f.Text = &text
	}
	return f
}

// twoNodes returns two hubs on one store and one in-process broker.
func twoNodes(t *testing.T) (*store.DB, *Hub, *Hub) {
	db := storetest.Open(t, "sqlite")
	mem := broker.NewMemory()
	ha := testHub(t, db, Options{Broker: mem, Node: "a"})
	hb := testHub(t, db, Options{Broker: mem, Node: "b"})
	t.Cleanup(mem.Attach(ha.HandleEvent))
	t.Cleanup(mem.Attach(hb.HandleEvent))
	return db, ha, hb
}

// TestMuteAcrossNodes checks that a mute stored through one node holds on
// another for the next frame: send, typing and edit get muted, a delete of
// one's own message does not, and an unmute lifts it.
func TestMuteAcrossNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, ha, hb := twoNodes(t)
		owner := attach(t, ha, "olga", 256)
		bob := attach(t, hb, "bob", 256)
		owner.do(t, join("club", -1))
		bob.do(t, join("club", -1))
		bob.do(t, send("club", "first"))
		synctest.Wait()
		bob.sock.take(t)

		moderate(t, ha, db, "club", "olga", "bob", chat.ChangeMuted, time.Now().Add(time.Hour))
		synctest.Wait()
		bob.do(t, send("club", "while muted"))
		bob.do(t, chat.ClientFrame{Type: chat.TypeTyping, Room: "club"})
		bob.do(t, change(chat.StreamEdit, "club", 1, "fixed"))
		got := bob.sock.take(t)
		if c := codes(got); len(c) != 3 || c[0] != chat.CodeMuted || c[1] != chat.CodeMuted || c[2] != chat.CodeMuted {
			t.Fatalf("muted bob got %v, want three muted errors", got)
		}
		bob.do(t, change(chat.StreamDelete, "club", 1, ""))
		if c := codes(bob.sock.take(t)); len(c) != 0 {
			t.Fatalf("a muted author's delete got %v", c)
		}

		moderate(t, ha, db, "club", "olga", "bob", chat.ChangeUnmuted, time.Time{})
		synctest.Wait()
		bob.do(t, send("club", "free again"))
		if c := codes(bob.sock.take(t)); len(c) != 0 {
			t.Fatalf("send after unmute got %v", c)
		}
	})
}

// TestKickAcrossNodes checks that a kick stored through one node takes the
// user's sockets on the other out of the room after the member event: each
// gets the event, then left kicked, then nothing more from the room.
func TestKickAcrossNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, ha, hb := twoNodes(t)
		owner := attach(t, ha, "olga", 256)
		b1, b2 := attach(t, hb, "bob", 256), attach(t, hb, "bob", 256)
		owner.do(t, join("club", -1))
		b1.do(t, join("club", -1))
		b2.do(t, join("club", -1))
		synctest.Wait()
		for _, c := range []*fakeClient{owner, b1, b2} {
			c.sock.take(t)
		}

		moderate(t, ha, db, "club", "olga", "bob", chat.ChangeKicked, time.Time{})
		synctest.Wait()
		owner.do(t, send("club", "after the kick"))
		synctest.Wait()
		for _, c := range []*fakeClient{b1, b2} {
			got := c.sock.take(t)
			if len(got) != 2 || got[0]["type"] != chat.StreamMember || got[0]["change"] != chat.ChangeKicked ||
				got[1]["type"] != chat.TypeLeft || got[1]["reason"] != chat.LeftKicked {
				t.Fatalf("bob's socket got %v, want the member event then left kicked", got)
			}
		}
		b1.do(t, send("club", "refused"))
		if c := codes(b1.sock.take(t)); len(c) != 1 || c[0] != chat.CodeNotJoined {
			t.Fatalf("send after the kick got %v, want not_joined", c)
		}
		var leaves int
		for _, f := range owner.sock.take(t) {
			if f["type"] == chat.TypePresence && f["user"] == "bob" && f["event"] == chat.PresenceLeave {
				leaves++
			}
		}
		if leaves != 1 {
			t.Fatalf("olga saw bob leave %d times, want once", leaves)
		}
	})
}

// TestModeratorDelete checks the rank rule of a delete from a socket: an
// owner deletes a member's message, a member never deletes another's, and
// an admin does not delete the owner's.
func TestModeratorDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := storetest.Open(t, "sqlite")
		h := testHub(t, db, Options{})
		owner, adm, bob := attach(t, h, "olga", 256), attach(t, h, "adam", 256), attach(t, h, "bob", 256)
		for _, c := range []*fakeClient{owner, adm, bob} {
			c.do(t, join("club", -1))
		}
		ev, _, err := db.Append(context.Background(), chat.NewMessage{Room: "club", UserID: userID(t, h, "olga"), Username: "olga",
			Kind: chat.StreamMember, Member: userID(t, h, "adam"), MemberName: "adam", Change: chat.ChangeRole, Role: chat.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		h.Stored(context.Background(), ev)
		owner.do(t, send("club", "by olga")) // seq 2 (the role event is 1)
		bob.do(t, send("club", "by bob"))    // seq 3
		adm.do(t, send("club", "by adam"))   // seq 4
		for _, c := range []*fakeClient{owner, adm, bob} {
			c.sock.take(t)
		}
		tests := []struct {
			who  *fakeClient
			seq  int64
			code string
		}{
			{bob, 4, chat.CodeForbidden},
			{adm, 2, chat.CodeForbidden},
			{adm, 3, ""},
			{owner, 4, ""},
			{bob, 3, chat.CodeMessageNotFound},
		}
		for _, tt := range tests {
			tt.who.do(t, change(chat.StreamDelete, "club", tt.seq, ""))
			got := codes(tt.who.sock.take(t))
			if tt.code == "" && len(got) != 0 || tt.code != "" && (len(got) != 1 || got[0] != tt.code) {
				t.Errorf("delete of seq %d: errors %v, want %q", tt.seq, got, tt.code)
			}
		}
	})
}
