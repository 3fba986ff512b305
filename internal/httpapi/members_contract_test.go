package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

// TestMembersContract checks GET /api/v1/rooms/{room}/members: members by
// username, limit 100 by default and 500 at most, next the username to pass
// as after and null exactly when no member follows, 400 invalid_request for
// a bad limit or after; banned users listed to the room's admins, its owner
// and server admins only; and member_count counting members, not invited or
// banned users.
func TestMembersContract(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{admins: []string{"root"}})
		p := newPeople(e, "owner", "root", "plain")
		ctx := context.Background()
		wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "crowd", "kind": "public"}), http.StatusCreated, "")
		p.join("crowd", "plain")
		// 600 more members, joined as a socket's join would.
		const extra = 600
		parallel(t, extra, func(i int) error {
			u := e.storeUser(t, fmt.Sprintf("m%03d", i))
			_, err := e.db.JoinRoom(ctx, "crowd", u, false, nil)
			return err
		})
		all := []string{"owner", "plain"}
		for i := range extra {
			all = append(all, fmt.Sprintf("m%03d", i))
		}
		slices.Sort(all)

		page := func(who, query string) memberPage {
			t.Helper()
			var mp memberPage
			rec := p.call(who, http.MethodGet, "/api/v1/rooms/crowd/members"+query, nil)
			wantStatus(t, rec, http.StatusOK, "")
			decode(t, rec, &mp)
			return mp
		}
		for _, tc := range []struct {
			query string
			want  int
		}{{"", 100}, {"?limit=1", 1}, {"?limit=500", 500}, {"?limit=501", 500}, {"?limit=100000", 500}} {
			mp := page("plain", tc.query)
			if got := memberNames(mp.Members); !slices.Equal(got, all[:tc.want]) {
				t.Fatalf("%q: %d members %v…, want the first %d by username", tc.query, len(got), first(got), tc.want)
			}
			if mp.Next == nil || *mp.Next != all[tc.want-1] {
				t.Fatalf("%q: next %v, want %q", tc.query, mp.Next, all[tc.want-1])
			}
		}
		// Paging with next visits every member once; the last page's next is
		// null, also when it is exactly full.
		var got []string
		after := ""
		for range 10 {
			mp := page("plain", "?limit=301&after="+after)
			got = append(got, memberNames(mp.Members)...)
			if mp.Next == nil {
				break
			}
			after = *mp.Next
		}
		if !slices.Equal(got, all) {
			t.Fatalf("paged %d members, want %d in order", len(got), len(all))
		}
		if mp := page("plain", "?limit=2&after="+all[len(all)-3]); len(mp.Members) != 2 || mp.Next != nil {
			t.Fatalf("an exactly full last page: %v next %v, want 2 members and next null", memberNames(mp.Members), mp.Next)
		}
		for _, q := range []string{"?limit=0", "?limit=-1", "?limit=ten", "?limit=1.5", "?after=not%20a%20name"} {
			wantError(t, p.call("plain", http.MethodGet, "/api/v1/rooms/crowd/members"+q, nil), http.StatusBadRequest, chat.CodeInvalidRequest)
		}

		// A banned user: out of member_count, listed to the owner and a
		// server admin only.
		before := roomOf(t, p, "plain", "crowd").MemberCount
		if before != extra+2 {
			t.Fatalf("member_count %d, want %d", before, extra+2)
		}
		wantStatus(t, p.call("owner", http.MethodPost, "/api/v1/rooms/crowd/ban", map[string]string{"username": "m000"}), http.StatusNoContent, "")
		if n := roomOf(t, p, "plain", "crowd").MemberCount; n != before-1 {
			t.Fatalf("member_count after a ban %d, want %d", n, before-1)
		}
		for who, sees := range map[string]bool{"owner": true, "root": true, "plain": false} {
			mp := page(who, "?limit=3")
			if has := slices.Contains(memberNames(mp.Members), "m000"); has != sees {
				t.Errorf("%s sees the banned user: %v, want %v", who, has, sees)
			}
			for _, m := range mp.Members {
				if m.User.Username == "m000" && m.State != chat.StateBanned {
					t.Errorf("banned user listed as %+v", m)
				}
			}
		}
	})
}

// roomOf returns GET /api/v1/rooms/{room} as who sees it.
func roomOf(t *testing.T, p *people, who, room string) chat.RoomJSON {
	t.Helper()
	var ra roomAnswer
	rec := p.call(who, http.MethodGet, "/api/v1/rooms/"+room, nil)
	wantStatus(t, rec, http.StatusOK, "")
	decode(t, rec, &ra)
	return ra.Room
}
