package store_test

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// eachDialectRaw runs fn on a fresh store of every dialect and a raw
// connection to its database.
func eachDialectRaw(t *testing.T, fn func(t *testing.T, db *store.DB, raw *storetest.Raw)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			u := storetest.URL(t, d)
			db := storetest.OpenURL(t, d, u)
			fn(t, db, storetest.OpenRaw(t, d, u))
		})
	}
}

// search runs q for user and fails the test on error.
func search(t testing.TB, db *store.DB, s chat.Search, q string) chat.SearchPage {
	t.Helper()
	query, err := chat.ParseSearch(q)
	if err != nil {
		t.Fatalf("ParseSearch(%q): %v", q, err)
	}
	s.Query = query
	if s.Limit == 0 {
		s.Limit = chat.MaxSearchLimit
	}
	p, err := db.Search(testCtx(t), s)
	if err != nil {
		t.Fatalf("Search(%q, %+v): %v", q, s, err)
	}
	return p
}

func hitTexts(p chat.SearchPage) []string {
	out := []string{}
	for _, h := range p.Hits {
		out = append(out, h.Text)
	}
	return out
}

func hitRooms(p chat.SearchPage) []string {
	out := []string{}
	for _, h := range p.Hits {
		out = append(out, h.Room)
	}
	slices.Sort(out)
	return out
}

func TestSearchWords(t *testing.T) {
	texts := []string{
		"Deploy finished on staging",                           // 0
		"the deploy FAILED: see https://ci.example.com/run-42", // 1
		"e-mail bob@example.org about v1.2.3",                  // 2
		"Café naïve ΟΔΟΣ 中文 ٣٤",                                // 3
		"unrelated_words here",                                 // 4
	}
	eachDialect(t, func(t *testing.T, db *store.DB) {
		u := mustUser(t, db, "alice")
		for _, text := range texts {
			mustAppend(t, db, send(u, chat.DefaultRoom, text))
		}
		for _, tc := range []struct {
			q    string
			want []int // indexes into texts, newest first
		}{
			{"deploy", []int{1, 0}},
			{"DEPLOY", []int{1, 0}},
			{"deplo", []int{1, 0}},
			{"deploy fail", []int{1}},
			{"fail deploy", nil}, // fail is not the last word: no prefix
			{"staging deploy", []int{0}},
			{"example", []int{2, 1}},
			{"ci.example.com", []int{1}},
			{"https://ci.example.com/run-42", []int{1}},
			{"run 42", []int{1}},
			{"4", []int{1}},
			{"bob@example.org", []int{2}},
			{"e-mail", []int{2}},
			{"v1.2.3", []int{2}},
			{"v1 2 3", []int{2}},
			{"1 2 3", nil}, // v1 is one word
			{"café", []int{3}},
			{"CAFÉ", []int{3}},
			{"cafe", nil}, // no diacritic folding
			{"ΟΔΟΣ", []int{3}},
			{"οδος", []int{3}},
			{"οδοσ", []int{3}},
			{"中文", []int{3}},
			{"٣٤", []int{3}},
			{"unrelated words", []int{4}},
			{"unrelated_words", []int{4}},
			{"nothing", nil},
			{"deploy nothing", nil},
		} {
			t.Run(tc.q, func(t *testing.T) {
				want := []string{}
				for _, i := range tc.want {
					want = append(want, texts[i])
				}
				if got := hitTexts(search(t, db, chat.Search{UserID: u.ID}, tc.q)); !slices.Equal(got, want) {
					t.Errorf("Search(%q) = %q, want %q", tc.q, got, want)
				}
			})
		}
	})
}

func TestSearchHitShape(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		u := mustUser(t, db, "alice")
		m := mustAppend(t, db, send(u, chat.DefaultRoom, "hello shape"))
		p := search(t, db, chat.Search{UserID: u.ID}, "shape")
		if len(p.Hits) != 1 || p.Hits[0] != m || !p.Hits[0].EditedAt.IsZero() || p.Next != "" {
			t.Fatalf("Search = %+v, want only %+v, never edited, no next", p, m)
		}
	})
}

func TestSearchFollowsEditsAndDeletions(t *testing.T) {
	eachDialectRaw(t, func(t *testing.T, db *store.DB, raw *storetest.Raw) {
		u := mustUser(t, db, "alice")
		s := chat.Search{UserID: u.ID}
		m := mustAppend(t, db, send(u, chat.DefaultRoom, "first draft"))
		other := mustAppend(t, db, send(u, chat.DefaultRoom, "another draft"))

		at := time.Now().Add(time.Second).Truncate(time.Millisecond).UTC()
		raw.EditMessage(m.ID, "final version", at)
		if got := hitTexts(search(t, db, s, "first")); len(got) != 0 {
			t.Errorf("the old text is still found: %q", got)
		}
		p := search(t, db, s, "final")
		if len(p.Hits) != 1 || p.Hits[0].ID != m.ID || p.Hits[0].Text != "final version" || !p.Hits[0].EditedAt.Equal(at) {
			t.Fatalf("after the edit, Search(final) = %+v, want %s with edited_at %v", p, m.ID, at)
		}
		if got := hitTexts(search(t, db, s, "draft")); !slices.Equal(got, []string{"another draft"}) {
			t.Errorf("Search(draft) = %q", got)
		}

		raw.DeleteMessage(other.ID)
		if got := hitTexts(search(t, db, s, "draft")); len(got) != 0 {
			t.Errorf("a deleted message is found: %q", got)
		}
		// Stream events other than messages carry text that is never found.
		for i, kind := range []string{"edit", "delete", "member", "room"} {
			raw.AddEvent(chat.DefaultRoom, int64(1000+i), u.ID, kind, "eventword "+kind)
		}
		if got := hitTexts(search(t, db, s, "eventword")); len(got) != 0 {
			t.Errorf("stream events are found: %q", got)
		}
		// A message stored after all that is found at once.
		mustAppend(t, db, send(u, chat.DefaultRoom, "eventword message"))
		if got := hitTexts(search(t, db, s, "eventword")); !slices.Equal(got, []string{"eventword message"}) {
			t.Errorf("Search(eventword) = %q", got)
		}
	})
}

func TestSearchReadableRooms(t *testing.T) {
	eachDialectRaw(t, func(t *testing.T, db *store.DB, raw *storetest.Raw) {
		alice := mustUser(t, db, "alice")
		bob := mustUser(t, db, "bob")
		carol := mustUser(t, db, "carol")
		rooms := []struct{ name, kind, aliceState string }{
			{chat.DefaultRoom, "public", ""},
			{"pub-member", "public", "member"},
			{"pub-banned", "public", "banned"},
			{"priv-member", "private", "member"},
			{"priv-invited", "private", "invited"},
			{"priv-other", "private", ""},
			{"priv-banned", "private", "banned"},
			{"dm-mine", "direct", "member"},
			{"dm-others", "direct", ""},
			{"gone", "public", "member"},
		}
		for _, r := range rooms {
			mustRoom(t, db, r.name)
			raw.SetRoomKind(r.name, r.kind)
			raw.SetMember(r.name, bob.ID, "member")
			if r.kind == "direct" && r.aliceState == "" {
				raw.SetMember(r.name, carol.ID, "member")
			}
			if r.aliceState != "" {
				raw.SetMember(r.name, alice.ID, r.aliceState)
			}
			mustAppend(t, db, send(bob, r.name, "secret of "+r.name))
		}
		raw.DeleteRoom("gone")
		mustRoom(t, db, "gone-kept") // deleted with its messages still there
		mustAppend(t, db, send(bob, "gone-kept", "secret of gone-kept"))
		raw.Exec(`UPDATE rooms SET deleted_at = $2 WHERE name = $1`, "gone-kept", raw.Time(time.Now()))

		readable := []string{"dm-mine", chat.DefaultRoom, "priv-member", "pub-member"}
		adminReadable := []string{"dm-mine", chat.DefaultRoom, "priv-banned", "priv-invited", "priv-member", "priv-other", "pub-banned", "pub-member"}
		for _, tc := range []struct {
			name  string
			admin bool
			want  []string
		}{
			{"user", false, readable},
			{"server admin", true, adminReadable},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := chat.Search{UserID: alice.ID, Admin: tc.admin}
				if got := hitRooms(search(t, db, s, "secret")); !slices.Equal(got, tc.want) {
					t.Errorf("rooms found = %q, want %q", got, tc.want)
				}
				for _, r := range append(slices.Clone(rooms), struct{ name, kind, aliceState string }{"gone-kept", "", ""}, struct{ name, kind, aliceState string }{"never", "", ""}) {
					s.Room = r.name
					q, _ := chat.ParseSearch("secret")
					s.Query, s.Limit = q, 10
					p, err := db.Search(testCtx(t), s)
					if !slices.Contains(tc.want, r.name) {
						if !errors.Is(err, chat.ErrNotFound) {
							t.Errorf("Search in %s = %+v, %v; want ErrNotFound", r.name, p, err)
						}
						continue
					}
					if err != nil || !slices.Equal(hitRooms(p), []string{r.name}) {
						t.Errorf("Search in %s = %+v, %v; want its message", r.name, p, err)
					}
				}
			})
		}
	})
}

func TestSearchPaging(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		u := mustUser(t, db, "alice")
		mustRoom(t, db, "other")
		var ids []string // newest first
		for i := range 25 {
			room := chat.DefaultRoom
			if i%3 == 0 {
				room = "other"
			}
			m := mustAppend(t, db, send(u, room, "page item "+strconv.Itoa(i)))
			ids = append([]string{m.ID}, ids...)
			mustAppend(t, db, send(u, room, "noise "+strconv.Itoa(i)))
		}
		for _, limit := range []int{1, 7, 10, 25, 100} {
			t.Run(strconv.Itoa(limit), func(t *testing.T) {
				var got []string
				s := chat.Search{UserID: u.ID, Limit: limit}
				for pages := 0; ; pages++ {
					if pages > 25 {
						t.Fatal("paging does not end")
					}
					p := search(t, db, s, "page item")
					if len(p.Hits) > limit || len(p.Hits) == 0 {
						t.Fatalf("page of %d hits with limit %d", len(p.Hits), limit)
					}
					for _, h := range p.Hits {
						got = append(got, h.ID)
					}
					if p.Next == "" {
						break
					}
					if p.Next != p.Hits[len(p.Hits)-1].ID || len(p.Hits) != limit {
						t.Fatalf("next %q after a page of %d ending with %q", p.Next, len(p.Hits), p.Hits[len(p.Hits)-1].ID)
					}
					s.Before = p.Next
				}
				if !slices.Equal(got, ids) {
					t.Fatalf("pages = %q\nwant  %q (newest first, each once)", got, ids)
				}
			})
		}
		// Before bounds the results, also when it names no stored message.
		p := search(t, db, chat.Search{UserID: u.ID, Before: ids[4]}, "page")
		if len(p.Hits) != 20 || p.Hits[0].ID != ids[5] {
			t.Fatalf("before %s: %d hits from %q, want 20 from %s", ids[4], len(p.Hits), p.Hits[0].ID, ids[5])
		}
		p = search(t, db, chat.Search{UserID: u.ID, Before: "0"}, "page")
		if len(p.Hits) != 0 || p.Next != "" {
			t.Fatalf("before 0: %+v, want nothing", p)
		}
		p = search(t, db, chat.Search{UserID: u.ID, Before: "~"}, "page")
		if len(p.Hits) != 25 {
			t.Fatalf("before ~: %d hits, want 25", len(p.Hits))
		}
		// Within one room.
		p = search(t, db, chat.Search{UserID: u.ID, Room: "other", Limit: 100}, "page")
		if len(p.Hits) != 9 {
			t.Fatalf("in room other: %d hits, want 9", len(p.Hits))
		}
	})
}

func TestSearchBadInput(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *store.DB) {
		u := mustUser(t, db, "alice")
		q, _ := chat.ParseSearch("word")
		for _, s := range []chat.Search{
			{UserID: u.ID, Limit: 10},
			{UserID: u.ID, Query: q, Limit: 0},
			{UserID: u.ID, Query: q, Limit: -1},
		} {
			if _, err := db.Search(testCtx(t), s); chat.ErrorCode(err) != chat.CodeInvalidRequest {
				t.Errorf("Search(%+v) err = %v, want invalid_request", s, err)
			}
		}
	})
}

// hasPostgres reports whether the PostgreSQL tests run.
func hasPostgres() bool { return os.Getenv(storetest.PostgresEnv) != "" }

// equalSets reports whether a and b hold the same strings, in any order.
func equalSets(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
