package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

// roomsPage is the body of GET /api/v1/rooms.
type roomsPage struct {
	Rooms []chat.RoomJSON `json:"rooms"`
	Next  *string         `json:"next"`
}

func TestRooms(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e, tok := aliceEnv(t, dialect)
		ctx := context.Background()

		// general is seeded; add four more, so five in all.
		names := []string{"alpha", "beta", "gamma", "zeta"}
		for _, n := range names {
			if _, err := e.db.EnsureRoom(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		all := append([]string{"general"}, names...)
		slices.Sort(all)

		t.Run("one page", func(t *testing.T) {
			p := e.listRooms(t, tok, "")
			if got := roomNames(p.Rooms); !slices.Equal(got, all) {
				t.Fatalf("rooms %v, want %v", got, all)
			}
			if p.Next != nil {
				t.Fatalf("next %q, want null", *p.Next)
			}
			for _, r := range p.Rooms {
				wantTime(t, "created_at", r.CreatedAt)
				if r.LastSeq != 0 {
					t.Fatalf("room %s last_seq %d, want 0", r.Name, r.LastSeq)
				}
			}
		})

		tests := []struct {
			limit int
			pages [][]string
		}{
			{limit: 1, pages: [][]string{{"alpha"}, {"beta"}, {"gamma"}, {"general"}, {"zeta"}}},
			{limit: 2, pages: [][]string{{"alpha", "beta"}, {"gamma", "general"}, {"zeta"}}},
			// The last page is full: next must still be null after it.
			{limit: 5, pages: [][]string{all}},
			{limit: 4, pages: [][]string{{"alpha", "beta", "gamma", "general"}, {"zeta"}}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("paging by %d", tt.limit), func(t *testing.T) {
				after := ""
				for i, want := range tt.pages {
					q := fmt.Sprintf("?limit=%d", tt.limit)
					if after != "" {
						q += "&after=" + after
					}
					p := e.listRooms(t, tok, q)
					if got := roomNames(p.Rooms); !slices.Equal(got, want) {
						t.Fatalf("page %d (%s): %v, want %v", i, q, got, want)
					}
					last := i == len(tt.pages)-1
					switch {
					case last && p.Next != nil:
						t.Fatalf("page %d: next %q on the last page, want null", i, *p.Next)
					case !last && (p.Next == nil || *p.Next != want[len(want)-1]):
						t.Fatalf("page %d: next %v, want %q", i, p.Next, want[len(want)-1])
					case !last:
						after = *p.Next
					}
				}
			})
		}

		t.Run("after a name that is not a room", func(t *testing.T) {
			p := e.listRooms(t, tok, "?after=gb")
			if got := roomNames(p.Rooms); !slices.Equal(got, []string{"general", "zeta"}) || p.Next != nil {
				t.Fatalf("rooms %v next %v", got, p.Next)
			}
		})
		t.Run("after the last room", func(t *testing.T) {
			p := e.listRooms(t, tok, "?after=zz")
			if len(p.Rooms) != 0 || p.Next != nil {
				t.Fatalf("rooms %v next %v, want [] and null", roomNames(p.Rooms), p.Next)
			}
		})
		t.Run("last_seq", func(t *testing.T) {
			u := e.storeUser(t, "writer")
			e.appendN(t, "beta", u, 3)
			p := e.listRooms(t, tok, "?after=alpha&limit=1")
			if len(p.Rooms) != 1 || p.Rooms[0].Name != "beta" || p.Rooms[0].LastSeq != 3 {
				t.Fatalf("rooms %+v, want beta with last_seq 3", p.Rooms)
			}
		})

		for _, q := range []string{"?limit=0", "?limit=-1", "?limit=abc", "?limit=1.5", "?limit=", "?limit=99999999999999999999", "?after=bad%21name", "?after=" + strings.Repeat("a", 65)} {
			t.Run("invalid "+q, func(t *testing.T) {
				rec := e.get("/api/v1/rooms"+q, tok)
				if q == "?limit=" {
					// An empty limit is the same as none.
					if rec.Code != http.StatusOK {
						t.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
					return
				}
				wantError(t, rec, http.StatusBadRequest, chat.CodeInvalidRequest)
			})
		}
		t.Run("unauthenticated", func(t *testing.T) {
			wantError(t, e.get("/api/v1/rooms", ""), http.StatusUnauthorized, chat.CodeInvalidToken)
		})
	})
}

func TestRoomsLimits(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e, tok := aliceEnv(t, dialect)
		ctx := context.Background()
		// 509 rooms with general: more than the maximum page.
		var names []string
		for i := range 508 {
			names = append(names, fmt.Sprintf("r%03d", i))
		}
		parallel(t, len(names), func(i int) error {
			_, err := e.db.EnsureRoom(ctx, names[i])
			return err
		})
		all := append([]string{"general"}, names...)
		slices.Sort(all)

		tests := []struct {
			query string
			want  int
		}{
			{query: "", want: 100},
			{query: "?limit=500", want: 500},
			{query: "?limit=501", want: 500},
			{query: "?limit=100000", want: 500},
		}
		for _, tt := range tests {
			t.Run(cmpOr(tt.query, "default"), func(t *testing.T) {
				p := e.listRooms(t, tok, tt.query)
				if got := roomNames(p.Rooms); !slices.Equal(got, all[:tt.want]) {
					t.Fatalf("%d rooms from %v to %v, want %d from %s to %s", len(got), first(got), last(got), tt.want, all[0], all[tt.want-1])
				}
				if p.Next == nil || *p.Next != all[tt.want-1] {
					t.Fatalf("next %v, want %q", p.Next, all[tt.want-1])
				}
			})
		}
		t.Run("walk", func(t *testing.T) {
			var got []string
			after := ""
			for range 10 {
				p := e.listRooms(t, tok, "?limit=500&after="+after)
				got = append(got, roomNames(p.Rooms)...)
				if p.Next == nil {
					break
				}
				after = *p.Next
			}
			if !slices.Equal(got, all) {
				t.Fatalf("walked %d rooms, want %d", len(got), len(all))
			}
		})
	})
}

// listRooms GETs /api/v1/rooms with query as tok and fails unless the answer
// is 200 with a rooms array and a next field.
func (e *env) listRooms(t testing.TB, tok, query string) roomsPage {
	t.Helper()
	rec := e.get("/api/v1/rooms"+query, tok)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET rooms%s: %d %s", query, rec.Code, rec.Body)
	}
	var p roomsPage
	decode(t, rec, &p)
	if p.Rooms == nil {
		t.Fatalf("rooms is null in %s", rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `"next":`) {
		t.Fatalf("no next field in %s", rec.Body)
	}
	return p
}

func roomNames(rs []chat.RoomJSON) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
