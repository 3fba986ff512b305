package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a search.
const (
	// MaxSearchChars is the longest search query, in code points.
	MaxSearchChars = 200
	// DefaultSearchLimit and MaxSearchLimit bound the results of one page.
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
)

// SearchQuery is a parsed search query: the words a message's current text
// must all contain, folded to lower case, in the order given. The last word
// also matches as a prefix of a longer word.
type SearchQuery struct {
	Words []string
}

// Search is one page of a search on behalf of a user.
type Search struct {
	Query  SearchQuery
	UserID string
	// Admin reports whether the user is a server admin: such a user reads
	// every public and private room, and direct rooms as one of their two
	// members only, like anyone.
	Admin bool
	// Room limits the search to one room; "" searches every room the user
	// may read.
	Room string
	// Before, when not "", is the id of a message: only messages stored
	// before it are returned.
	Before string
	Limit  int
}

// SearchPage is one page of search results, newest first. Next is the id
// to pass as Search.Before for the following page, "" when no older result
// exists.
type SearchPage struct {
	// Hits are the messages found, in their current state.
	Hits []Message
	Next string
}

// ParseSearch parses a search query: its words are the runs of letters
// (Unicode L*) and decimal digits (Nd), folded to lower case; every other
// character separates words. A query that is empty, not valid UTF-8, longer
// than MaxSearchChars code points or without a word is CodeInvalidRequest.
func ParseSearch(q string) (SearchQuery, error) {
	switch {
	case q == "":
		return SearchQuery{}, Errorf(CodeInvalidRequest, "q is required")
	case !utf8.ValidString(q):
		return SearchQuery{}, Errorf(CodeInvalidRequest, "q is not valid UTF-8")
	case utf8.RuneCountInString(q) > MaxSearchChars:
		return SearchQuery{}, Errorf(CodeInvalidRequest, "q must be at most %d characters", MaxSearchChars)
	}
	words := strings.FieldsFunc(q, func(r rune) bool { return !IsWordRune(r) })
	if len(words) == 0 {
		return SearchQuery{}, Errorf(CodeInvalidRequest, "q must contain a word (letters or digits)")
	}
	for i, w := range words {
		words[i] = FoldWord(w)
	}
	return SearchQuery{Words: words}, nil
}

// IsWordRune reports whether r is part of a search word: a letter or a
// decimal digit.
func IsWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// FoldWord folds a search word for comparison without case: each code
// point lower-cased, and final sigma as sigma. The dotted capital I (U+0130)
// is kept: FTS5 does not fold it, and its lower case depends on the
// language.
func FoldWord(w string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 'İ':
			return r
		case 'ς':
			return 'σ'
		}
		return unicode.ToLower(r)
	}, w)
}
