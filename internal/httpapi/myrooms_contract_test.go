package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

// TestReadMarkerStartsAtJoin checks that a user's last_read in a room
// starts at the room's last_seq when they become a member, so what was
// said before they came is not unread: for a plain join of a public room
// and for an invited user joining a private one, whatever was stored
// between the invitation and the join.
func TestReadMarkerStartsAtJoin(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		p := newPeople(e, "owner", "carol", "dan")
		for _, r := range []struct{ name, kind string }{{"pub", "public"}, {"priv", "private"}} {
			wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms", map[string]string{"name": r.name, "kind": r.kind}), http.StatusCreated, "")
		}
		owner := p.user("owner")
		e.appendN(t, "pub", owner, 5)
		wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/priv/invite", map[string]string{"username": "dan"}), http.StatusNoContent, "")
		e.appendN(t, "priv", owner, 4)
		p.join("pub", "carol")
		p.join("priv", "dan")

		mine := func(who string) map[string]chat.MyRoomJSON {
			t.Helper()
			var my myRoomsAnswer
			rec := p.call(who, http.MethodGet, "/api/v1/me/rooms", nil)
			wantStatus(t, rec, http.StatusOK, "")
			decode(t, rec, &my)
			out := map[string]chat.MyRoomJSON{}
			for _, r := range my.Rooms {
				out[r.Room.Name] = r
			}
			return out
		}
		for _, c := range []struct{ who, room string }{{"carol", "pub"}, {"dan", "priv"}} {
			r, ok := mine(c.who)[c.room]
			if !ok {
				t.Fatalf("%s does not list %s", c.who, c.room)
			}
			if last := p.lastSeq(c.room); r.LastRead != last || r.Unread != 0 || r.State != chat.StateMember {
				t.Errorf("%s in %s: last_read %d unread %d state %s, want last_read %d (the room's last_seq at the join) and 0 unread",
					c.who, c.room, r.LastRead, r.Unread, r.State, last)
			}
		}
		// What comes after the join is unread.
		e.store(p.users["owner"], "pub", "after carol came")
		e.store(p.users["owner"], "pub", "and again")
		if r := mine("carol")["pub"]; r.Unread != 2 {
			t.Errorf("carol's unread after two new messages: %d, want 2", r.Unread)
		}
	})
}
