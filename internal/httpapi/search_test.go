package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// searchBody is the body of GET /api/v1/search, decoded strictly.
type searchBody struct {
	Results []chat.MessageJSON `json:"results"`
	Next    *string            `json:"next"`
}

// searchPath builds a search URL from name=value pairs.
func searchPath(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "/api/v1/search?" + v.Encode()
}

// store appends a message of u to room and returns it.
func (e *env) store(u chat.UserJSON, room, text string) chat.Message {
	e.t.Helper()
	m, _, err := e.db.Append(context.Background(), chat.NewMessage{Room: room, UserID: u.ID, Username: u.Username, Text: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) search(token string, kv ...string) searchBody {
	e.t.Helper()
	rec := e.get(searchPath(kv...), token)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", searchPath(kv...), rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `"next":`) || !strings.Contains(rec.Body.String(), `"results":[`) {
		e.t.Fatalf("body %s lacks results or next", rec.Body)
	}
	var b searchBody
	decode(e.t, rec, &b)
	return b
}

func TestSearch(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		alice := e.register("alice")
		tok := e.login("alice").AccessToken
		raw := storetest.OpenRaw(t, dialect, e.url)

		m := e.store(alice, chat.DefaultRoom, "Deploy finished, see https://ci.example.com")
		e.store(alice, chat.DefaultRoom, "lunch?")
		b := e.search(tok, "q", "DEPLOY fin")
		if len(b.Results) != 1 || b.Next != nil {
			t.Fatalf("search = %+v, want one result and next null", b)
		}
		r := b.Results[0]
		if r.Room != chat.DefaultRoom || r.Seq != m.Seq || r.ID != m.ID || r.From != "alice" || r.FromID != alice.ID ||
			r.Text != m.Text || r.EditedAt != nil || r.Deleted {
			t.Fatalf("result = %+v, want %+v unedited", r, m)
		}
		wantTime(t, "ts", r.TS)

		// An edit is found as soon as it is stored, with its edited_at.
		raw.EditMessage(m.ID, "rolled back", time.Now())
		if b := e.search(tok, "q", "deploy"); len(b.Results) != 0 {
			t.Fatalf("the old text is found: %+v", b)
		}
		b = e.search(tok, "q", "rolled", "room", "General")
		if len(b.Results) != 1 || b.Results[0].EditedAt == nil {
			t.Fatalf("after the edit: %+v", b)
		}
		wantTime(t, "edited_at", *b.Results[0].EditedAt)
		raw.DeleteMessage(m.ID)
		if b := e.search(tok, "q", "rolled"); len(b.Results) != 0 {
			t.Fatalf("a deleted message is found: %+v", b)
		}

		if n := testutil.CollectAndCount(e.m.SearchDuration); n != 1 {
			t.Fatalf("chat_search_duration_seconds: %d series", n)
		}
		if got := histogramCount(t, e); got != 4 {
			t.Errorf("chat_search_duration_seconds counts %d searches, want 4", got)
		}
	})
}

// histogramCount returns the number of observations of the search histogram.
func histogramCount(t testing.TB, e *env) uint64 {
	t.Helper()
	mfs, err := e.m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "chat_search_duration_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("no chat_search_duration_seconds")
	return 0
}

func TestSearchPaging(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		alice := e.register("alice")
		tok := e.login("alice").AccessToken
		var want []string // newest first
		for i := range 45 {
			want = append([]string{e.store(alice, chat.DefaultRoom, "item "+strconv.Itoa(i)).ID}, want...)
		}
		// Default limit 20: pages of 20, 20 and 5; next is null on the last.
		var got []string
		var next *string
		for page := 0; page < 3; page++ {
			kv := []string{"q", "item"}
			if next != nil {
				kv = append(kv, "before", *next)
			}
			b := e.search(tok, kv...)
			for _, r := range b.Results {
				got = append(got, r.ID)
			}
			if (page < 2) != (b.Next != nil) {
				t.Fatalf("page %d: next = %v", page, b.Next)
			}
			next = b.Next
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("pages = %v\nwant %v", got, want)
		}
		// The maximum is 100; exactly as many results as the limit: next null.
		if b := e.search(tok, "q", "item", "limit", "1000"); len(b.Results) != 45 || b.Next != nil {
			t.Fatalf("limit 1000: %d results, next %v", len(b.Results), b.Next)
		}
		if b := e.search(tok, "q", "item", "limit", "45"); len(b.Results) != 45 || b.Next != nil {
			t.Fatalf("limit 45: %d results, next %v", len(b.Results), b.Next)
		}
		for i := range 60 {
			e.store(alice, chat.DefaultRoom, "item more "+strconv.Itoa(i))
		}
		if b := e.search(tok, "q", "item", "limit", "1000"); len(b.Results) != 100 || b.Next == nil {
			t.Fatalf("limit 1000 of 105: %d results, next %v", len(b.Results), b.Next)
		}
	})
}

func TestSearchReadable(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{admins: []string{"root"}})
		alice := e.register("alice")
		bob := e.register("bob")
		e.register("root")
		tok := map[string]string{"alice": e.login("alice").AccessToken, "bob": e.login("bob").AccessToken, "root": e.login("root").AccessToken}
		raw := storetest.OpenRaw(t, dialect, e.url)
		for _, r := range []struct{ name, kind string }{{"pub", "public"}, {"priv", "private"}, {"dm-ab", "direct"}, {"gone", "public"}} {
			if _, err := e.db.EnsureRoom(context.Background(), r.name); err != nil {
				t.Fatal(err)
			}
			raw.SetRoomKind(r.name, r.kind)
			raw.SetMember(r.name, alice.ID, "member")
			e.store(alice, r.name, "hidden treasure in "+r.name)
		}
		raw.SetMember("dm-ab", bob.ID, "member")
		raw.SetMember("pub", bob.ID, "banned")
		raw.DeleteRoom("gone")

		for _, tc := range []struct {
			user  string
			rooms string // found, in order of the search (newest first)
		}{
			{"alice", "dm-ab,priv,pub"},
			{"bob", "dm-ab"},
			{"root", "priv,pub"},
		} {
			t.Run(tc.user, func(t *testing.T) {
				b := e.search(tok[tc.user], "q", "treasure")
				var rooms []string
				for _, r := range b.Results {
					rooms = append(rooms, r.Room)
				}
				if strings.Join(rooms, ",") != tc.rooms {
					t.Fatalf("rooms found = %v, want %s", rooms, tc.rooms)
				}
				for _, room := range []string{"pub", "priv", "dm-ab", "gone", "nowhere"} {
					rec := e.get(searchPath("q", "treasure", "room", room), tok[tc.user])
					if strings.Contains(","+tc.rooms+",", ","+room+",") {
						if rec.Code != http.StatusOK {
							t.Errorf("search in %s: %d %s", room, rec.Code, rec.Body)
						}
						continue
					}
					if tc.user == "bob" && room == "pub" {
						// Banned from a public room: reading it is forbidden,
						// as GET …/messages says.
						wantError(t, rec, http.StatusForbidden, chat.CodeForbidden)
						continue
					}
					wantError(t, rec, http.StatusNotFound, chat.CodeRoomNotFound)
				}
			})
		}
	})
}

func TestSearchBadRequests(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{})
		e.register("alice")
		tok := e.login("alice").AccessToken
		for _, tc := range []struct {
			name, path string
		}{
			{"no q", "/api/v1/search"},
			{"empty q", searchPath("q", "")},
			{"q without a word", searchPath("q", " -- !? ")},
			{"q over 200 code points", searchPath("q", strings.Repeat("é", 201))},
			{"q not UTF-8", "/api/v1/search?q=%FF%FE"},
			{"limit 0", searchPath("q", "x", "limit", "0")},
			{"limit not a number", searchPath("q", "x", "limit", "ten")},
			{"malformed room", searchPath("q", "x", "room", "no such room!")},
			{"before too long", searchPath("q", "x", "before", strings.Repeat("a", 65))},
			{"before with spaces", searchPath("q", "x", "before", "a b")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, e.get(tc.path, tok), http.StatusBadRequest, chat.CodeInvalidRequest)
			})
		}
		// Operators of either engine are words or separators, never errors.
		for _, q := range []string{`"a`, `a*`, `NEAR(a b)`, `a & !b`, `'x':*`, "a\x00b", strings.Repeat("é", 200)} {
			e.search(tok, "q", q)
		}
		rec := e.get(searchPath("q", "x"), "")
		wantError(t, rec, http.StatusUnauthorized, chat.CodeInvalidToken)
	})
}
