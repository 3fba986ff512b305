package store_test

import (
	"testing"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// FuzzSearch feeds queries full of FTS5 and tsquery syntax, quotes, NUL
// and odd Unicode to the search of both databases (PostgreSQL when
// CHAT_TEST_POSTGRES_URL is set) and checks that no query makes either
// fail, and that both find the same messages.
func FuzzSearch(f *testing.F) {
	texts := []string{
		`he said "NEAR(a b)" AND c* OR d`,
		`x & y | !z <-> w:* 'q'`,
		"e-mail bob@example.org v1.2.3 https://x.org/a?b=c",
		"Café ΟΔΟΣ Straße 中文字 ٣٤ İstanbul 😀smile cafe\u0301",
		"a\tb \u200b c\u00a0d \ufeffe",
	}
	for _, s := range []string{
		`"`, `""`, `"a`, `a"b`, `*`, `a*`, `^a`, `a:b`, `text:a`, `{text}:a`, `-a`, `+a`, `NEAR(a b, 3)`,
		`a AND b`, `a OR b`, `NOT a`, `(a)`, `a & b`, `a | b`, `!a`, `a <-> b`, `a:*`, `a:A`, `'a'`, `a''b`, `a\b`, `\`,
		"a\x00b", "\u0301", "é\u0301", "ς", "Σ", "İ", "ꟊ", "𝐀bc", "\U0010FFFF", "\ufffd", "ΟΔΟΣ straße",
		"bob@example.org", "v1.2.3", "c\u00a0d", "中文",
	} {
		f.Add(s)
	}
	var dbs []*store.DB
	var users []chat.User
	for _, d := range storetest.Dialects() {
		if d == store.DialectPostgres && !hasPostgres() {
			continue
		}
		db := storetest.Open(f, d)
		u := mustUser(f, db, "alice")
		for _, text := range texts {
			mustAppend(f, db, send(u, chat.DefaultRoom, text))
		}
		dbs = append(dbs, db)
		users = append(users, u)
	}
	f.Fuzz(func(t *testing.T, q string) {
		query, err := chat.ParseSearch(q)
		if err != nil {
			return
		}
		var found []string
		for i, db := range dbs {
			p, err := db.Search(testCtx(t), chat.Search{Query: query, UserID: users[i].ID, Limit: 10})
			if err != nil {
				t.Fatalf("%s: Search(%q) words %q: %v", db.Dialect(), q, query.Words, err)
			}
			texts := hitTexts(p)
			if i > 0 && !equalSets(texts, found) {
				t.Errorf("Search(%q) words %q: %s finds %q, %s finds %q", q, query.Words, dbs[0].Dialect(), found, db.Dialect(), texts)
			}
			found = texts
		}
	})
}
