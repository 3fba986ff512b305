package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

// roomsPage is the body of GET /api/v1/rooms.
type roomsPage struct {
	Rooms []chat.RoomJSON `json:"rooms"`
	Next  *string         `json:"next"`
}

// messagesPage is the body of GET /api/v1/rooms/{room}/messages.
type messagesPage struct {
	Messages []chat.MessageJSON `json:"messages"`
	HasMore  bool               `json:"has_more"`
}

func TestRooms(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		e.register("alice")
		tok := e.login("alice").AccessToken
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

		list := func(t *testing.T, query string) roomsPage {
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

		t.Run("one page", func(t *testing.T) {
			p := list(t, "")
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
					p := list(t, q)
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
			p := list(t, "?after=gb")
			if got := roomNames(p.Rooms); !slices.Equal(got, []string{"general", "zeta"}) || p.Next != nil {
				t.Fatalf("rooms %v next %v", got, p.Next)
			}
		})
		t.Run("after the last room", func(t *testing.T) {
			p := list(t, "?after=zz")
			if len(p.Rooms) != 0 || p.Next != nil {
				t.Fatalf("rooms %v next %v, want [] and null", roomNames(p.Rooms), p.Next)
			}
		})
		t.Run("last_seq", func(t *testing.T) {
			u := e.storeUser(t, "writer")
			e.appendN(t, "beta", u, 3)
			p := list(t, "?after=alpha&limit=1")
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
		e := newEnv(t, dialect, envOptions{})
		e.register("alice")
		tok := e.login("alice").AccessToken
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
				rec := e.get("/api/v1/rooms"+tt.query, tok)
				var p roomsPage
				decode(t, rec, &p)
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
				rec := e.get("/api/v1/rooms?limit=500&after="+after, tok)
				var p roomsPage
				decode(t, rec, &p)
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

func TestMessages(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		e.register("alice")
		tok := e.login("alice").AccessToken
		ctx := context.Background()
		bob := e.storeUser(t, "bob")
		if _, err := e.db.EnsureRoom(ctx, "empty"); err != nil {
			t.Fatal(err)
		}
		stored := e.appendN(t, "general", bob, 5)

		history := func(t *testing.T, path string) messagesPage {
			t.Helper()
			rec := e.get(path, tok)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
			}
			var p messagesPage
			decode(t, rec, &p)
			if p.Messages == nil {
				t.Fatalf("messages is null in %s", rec.Body)
			}
			return p
		}

		t.Run("shape", func(t *testing.T) {
			p := history(t, "/api/v1/rooms/general/messages")
			if len(p.Messages) != 5 || p.HasMore {
				t.Fatalf("%d messages, has_more %v; want 5, false", len(p.Messages), p.HasMore)
			}
			for i, m := range p.Messages {
				s := stored[i]
				want := chat.MessageJSON{Room: "general", Seq: int64(i + 1), ID: s.ID, From: "bob", FromID: bob.ID, Text: s.Text, TS: chat.FormatTime(s.TS)}
				if m != want {
					t.Fatalf("message %d = %+v, want %+v", i, m, want)
				}
				wantTime(t, "ts", m.TS)
			}
		})

		tests := []struct {
			query   string
			seqs    []int64
			hasMore bool
		}{
			{query: "", seqs: []int64{1, 2, 3, 4, 5}},
			{query: "?limit=2", seqs: []int64{4, 5}, hasMore: true},
			{query: "?limit=5", seqs: []int64{1, 2, 3, 4, 5}},
			{query: "?limit=4", seqs: []int64{2, 3, 4, 5}, hasMore: true},
			{query: "?before=4&limit=2", seqs: []int64{2, 3}, hasMore: true},
			{query: "?before=3&limit=2", seqs: []int64{1, 2}},
			{query: "?before=2", seqs: []int64{1}},
			{query: "?before=1", seqs: []int64{}},
			{query: "?before=6", seqs: []int64{1, 2, 3, 4, 5}},
			{query: "?before=1000", seqs: []int64{1, 2, 3, 4, 5}},
			{query: "?before=5&limit=1", seqs: []int64{4}, hasMore: true},
		}
		for _, tt := range tests {
			t.Run("general"+tt.query, func(t *testing.T) {
				p := history(t, "/api/v1/rooms/general/messages"+tt.query)
				if got := seqs(p.Messages); !slices.Equal(got, tt.seqs) || p.HasMore != tt.hasMore {
					t.Fatalf("seqs %v has_more %v, want %v %v", got, p.HasMore, tt.seqs, tt.hasMore)
				}
			})
		}

		t.Run("empty room", func(t *testing.T) {
			rec := e.get("/api/v1/rooms/empty/messages", tok)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"messages":[]`) {
				t.Fatalf("%d %s, want 200 with \"messages\":[]", rec.Code, rec.Body)
			}
			var p messagesPage
			decode(t, rec, &p)
			if p.HasMore {
				t.Fatal("has_more in an empty room")
			}
		})
		t.Run("room name is case-insensitive", func(t *testing.T) {
			if p := history(t, "/api/v1/rooms/General/messages?limit=1"); len(p.Messages) != 1 || p.Messages[0].Room != "general" {
				t.Fatalf("messages %+v", p.Messages)
			}
		})

		errs := []struct {
			path   string
			status int
			code   string
		}{
			{path: "/api/v1/rooms/nowhere/messages", status: http.StatusNotFound, code: chat.CodeRoomNotFound},
			{path: "/api/v1/rooms/nowhere/messages?before=3&limit=2", status: http.StatusNotFound, code: chat.CodeRoomNotFound},
			{path: "/api/v1/rooms/bad%21name/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/bad.name/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/caf%C3%A9/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/%FF%FE/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/" + strings.Repeat("a", 65) + "/messages", status: http.StatusBadRequest, code: chat.CodeInvalidRoom},
			{path: "/api/v1/rooms/general/messages?before=abc", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?before=0", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?before=-1", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?before=1.5", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?before=99999999999999999999", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?limit=0", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?limit=-5", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?limit=ten", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
			{path: "/api/v1/rooms/general/messages?limit=%00", status: http.StatusBadRequest, code: chat.CodeInvalidRequest},
		}
		for _, tt := range errs {
			t.Run(tt.path, func(t *testing.T) {
				wantError(t, e.get(tt.path, tok), tt.status, tt.code)
			})
		}
		t.Run("unauthenticated", func(t *testing.T) {
			rec := e.get("/api/v1/rooms/general/messages", "")
			wantError(t, rec, http.StatusUnauthorized, chat.CodeInvalidToken)
			if rec.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Fatalf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	})
}

func TestMessagesLimits(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		e.register("alice")
		tok := e.login("alice").AccessToken
		bob := e.storeUser(t, "bob")
		const n = 210
		e.appendN(t, "general", bob, n)

		tests := []struct {
			query   string
			from    int64 // first seq
			count   int
			hasMore bool
		}{
			{query: "", from: n - 49, count: 50, hasMore: true},
			{query: "?limit=200", from: n - 199, count: 200, hasMore: true},
			{query: "?limit=201", from: n - 199, count: 200, hasMore: true},
			{query: "?limit=100000", from: n - 199, count: 200, hasMore: true},
			{query: "?before=201&limit=500", from: 1, count: 200},
			{query: "?before=100", from: 50, count: 50, hasMore: true},
		}
		for _, tt := range tests {
			t.Run(cmpOr(tt.query, "default"), func(t *testing.T) {
				rec := e.get("/api/v1/rooms/general/messages"+tt.query, tok)
				var p messagesPage
				decode(t, rec, &p)
				var want []int64
				for i := range tt.count {
					want = append(want, tt.from+int64(i))
				}
				if got := seqs(p.Messages); !slices.Equal(got, want) || p.HasMore != tt.hasMore {
					t.Fatalf("%d messages %v…%v has_more %v, want %d from %d, has_more %v",
						len(got), first(got), last(got), p.HasMore, tt.count, tt.from, tt.hasMore)
				}
			})
		}
	})
}

// storeUser creates a user directly in the store, without password hashing.
func (e *env) storeUser(t testing.TB, name string) chat.User {
	t.Helper()
	u, err := e.db.CreateUser(context.Background(), name, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// appendN stores n messages from u in room (created if needed) and returns
// them in seq order.
func (e *env) appendN(t testing.TB, room string, u chat.User, n int) []chat.Message {
	t.Helper()
	ctx := context.Background()
	if _, err := e.db.EnsureRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	out := make([]chat.Message, n)
	parallel(t, n, func(i int) error {
		m, _, err := e.db.Append(ctx, chat.NewMessage{
			Room: room, UserID: u.ID, Username: u.Username,
			Text: fmt.Sprintf("message %d: «ünïcode» \t\"quoted\"\n", i), Ref: fmt.Sprintf("ref-%s-%d", room, i),
		})
		out[i] = m
		return err
	})
	slices.SortFunc(out, func(a, b chat.Message) int { return int(a.Seq - b.Seq) })
	return out
}

// parallel runs f(0) … f(n-1) on a few goroutines and fails on any error.
func parallel(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	const workers = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d failed, first: %v", len(errs), n, errs[0])
	}
}

func roomNames(rs []chat.RoomJSON) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func seqs(ms []chat.MessageJSON) []int64 {
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

func first[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

func last[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1]
}
