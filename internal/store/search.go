package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/chatsvc/chat/internal/chat"
)

// Search returns one page of the messages whose current text holds every
// word of s.Query (the last word also as a prefix), newest first, from the
// rooms s.UserID may read: public rooms they are not banned from, private
// and direct rooms they are a member of, and, for a server admin (s.Admin),
// every public and private room. Deleted messages and deleted rooms are
// never found. With s.Before, only messages stored before that message are
// returned; Next of the page is the id to pass as Before for the next one.
//
// A query without words or a limit below 1 is chat.CodeInvalidRequest; a
// room the user may not read, or that does not exist, is chat.ErrNotFound.
//
// Words reach the database only as quoted terms (an FTS5 string, a tsquery
// lexeme), so no operator of either engine can come from the query.
func (db *DB) Search(ctx context.Context, s chat.Search) (chat.SearchPage, error) {
	if len(s.Query.Words) == 0 {
		return chat.SearchPage{}, chat.Errorf(chat.CodeInvalidRequest, "a search needs at least one word")
	}
	limit, err := readLimit(s.Limit)
	if err != nil {
		return chat.SearchPage{}, err
	}
	if s.Room != "" {
		if err := db.checkReadable(ctx, s); err != nil {
			return chat.SearchPage{}, err
		}
	}
	query, args := db.searchSQL(s, limit+1)
	if db.dialect == DialectPostgres {
		// An unnamed statement is planned with the query's own words, so
		// PostgreSQL sees how common they are: a cached generic plan would
		// guess, and scan all messages by id for a rare word.
		args = append([]any{pgx.QueryExecModeExec}, args...)
	}
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return chat.SearchPage{}, wrap("search", err)
	}
	defer rows.Close()
	hits := make([]chat.Message, 0, min(limit+1, 128))
	for rows.Next() {
		var h chat.Message
		if err := rows.Scan(&h.Room, &h.Seq, &h.ID, &h.FromID, &h.From, &h.Text, msTime{&h.TS}, msTime{&h.EditedAt}); err != nil {
			return chat.SearchPage{}, wrap("search", err)
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return chat.SearchPage{}, wrap("search", err)
	}
	page := chat.SearchPage{Hits: hits}
	if len(hits) > limit {
		page.Hits = hits[:limit]
		page.Next = hits[limit-1].ID
	}
	return page, nil
}

// readableSQL is the condition under which the user of the members row me
// may read the room r; adminParam is the placeholder of 1 for a server
// admin, 0 otherwise.
func readableSQL(adminParam string) string {
	return `r.deleted_at IS NULL AND (me.state = 'member'
	OR (r.kind = 'public' AND coalesce(me.state, '') <> 'banned')
	OR (r.kind <> 'direct' AND ` + adminParam + ` = 1))`
}

// checkReadable returns chat.ErrNotFound unless s.Room exists and s.UserID
// may read it.
func (db *DB) checkReadable(ctx context.Context, s chat.Search) error {
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM rooms r
LEFT JOIN members me ON me.room = r.name AND me.user_id = $2
WHERE r.name = $1 AND `+readableSQL("$3"), s.Room, s.UserID, adminArg(s.Admin)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.ErrNotFound
	}
	if err != nil {
		return wrap("search: room", err)
	}
	return nil
}

// searchSQL returns the query of a search page of up to n rows and its
// arguments.
func (db *DB) searchSQL(s chat.Search, n int) (string, []any) {
	args := []any{nil, s.UserID, adminArg(s.Admin), n}
	var q strings.Builder
	q.WriteString(`SELECT m.room, m.seq, m.id, m.user_id, u.username, m.text, m.ts, m.edited_at
FROM `)
	if db.dialect == DialectSQLite {
		args[0] = ftsMatch(s.Query.Words)
		q.WriteString(`messages_fts f
JOIN messages m ON m.rowid = f.rowid
JOIN rooms r ON r.name = m.room
JOIN users u ON u.id = m.user_id
LEFT JOIN members me ON me.room = m.room AND me.user_id = $2
WHERE messages_fts MATCH $1 AND m.kind = 'message' AND m.deleted = 0`)
	} else {
		args[0] = tsQuery(s.Query.Words)
		q.WriteString(`messages m
JOIN rooms r ON r.name = m.room
JOIN users u ON u.id = m.user_id
LEFT JOIN members me ON me.room = m.room AND me.user_id = $2
WHERE m.search @@ chat_search_fold($1)::tsquery AND m.kind = 'message' AND NOT m.deleted`)
	}
	q.WriteString("\nAND " + readableSQL("$3"))
	if s.Room != "" {
		args = append(args, s.Room)
		q.WriteString("\nAND m.room = $" + strconv.Itoa(len(args)))
	}
	if s.Before != "" {
		args = append(args, s.Before)
		p := "$" + strconv.Itoa(len(args))
		q.WriteString("\nAND m.id < " + p)
		if db.dialect == DialectSQLite {
			// On SQLite one process writes, so rowids follow ids: bounding
			// the rowid lets FTS5 start the scan at the page instead of at
			// the newest match.
			q.WriteString("\nAND f.rowid < coalesce((SELECT rowid FROM messages WHERE id = " + p + "), 9223372036854775807)")
		}
	}
	if db.dialect == DialectSQLite {
		q.WriteString("\nORDER BY f.rowid DESC LIMIT $4")
	} else {
		q.WriteString("\nORDER BY m.id DESC LIMIT $4")
	}
	return q.String(), args
}

// adminArg is the value of the admin placeholder of readableSQL.
func adminArg(admin bool) int {
	if admin {
		return 1
	}
	return 0
}

// ftsMatch returns an FTS5 query that matches texts holding every word,
// the last also as a prefix: each word is a quoted string, so FTS5 reads
// no operator or column filter from it.
func ftsMatch(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(w, `"`, `""`))
		b.WriteByte('"')
	}
	b.WriteByte('*')
	return b.String()
}

// tsQuery returns a tsquery, in its text form, that matches vectors holding
// every word, the last also as a prefix: each word is a quoted lexeme, so
// PostgreSQL reads no operator or weight from it.
func tsQuery(words []string) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('\'')
		w = strings.ReplaceAll(w, `\`, `\\`)
		b.WriteString(strings.ReplaceAll(w, `'`, `''`))
		b.WriteByte('\'')
	}
	b.WriteString(":*")
	return b.String()
}
