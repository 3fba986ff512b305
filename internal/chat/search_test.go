package chat

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseSearch(t *testing.T) {
	for _, tc := range []struct {
		name, q string
		want    []string // nil: invalid_request
	}{
		{"one word", "hello", []string{"hello"}},
		{"case folded", "Hello WORLD", []string{"hello", "world"}},
		{"punctuation separates", "e-mail a.b@c.d 1.5 under_score", []string{"e", "mail", "a", "b", "c", "d", "1", "5", "under", "score"}},
		{"url", "https://x.org/p?q=1", []string{"https", "x", "org", "p", "q", "1"}},
		{"operators are separators", `"a" AND b* OR (c) NEAR -d ^e & f | !g :* 'h'`, []string{"a", "and", "b", "or", "c", "near", "d", "e", "f", "g", "h"}},
		{"letters of any script", "Café ΟΔΟΣ Straße 中文 ٣٤", []string{"café", "οδοσ", "straße", "中文", "٣٤"}},
		{"no diacritic folding", "naïve", []string{"naïve"}},
		{"emoji separates", "😀smile", []string{"smile"}},
		{"NUL and controls separate", "a\x00b\tc", []string{"a", "b", "c"}},
		{"exactly the limit", strings.Repeat("é", MaxSearchChars), []string{strings.Repeat("é", MaxSearchChars)}},
		{"empty", "", nil},
		{"no word", " -- !? ", nil},
		{"only emoji", "😀😀", nil},
		{"over the limit in code points", strings.Repeat("é", MaxSearchChars+1), nil},
		{"invalid UTF-8", "ab\xffcd", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSearch(tc.q)
			if tc.want == nil {
				if ErrorCode(err) != CodeInvalidRequest {
					t.Fatalf("ParseSearch(%q) = %v, %v; want invalid_request", tc.q, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got.Words, tc.want) {
				t.Fatalf("ParseSearch(%q) = %q, %v; want %q", tc.q, got.Words, err, tc.want)
			}
		})
	}
}

func TestSearchHitJSON(t *testing.T) {
	h := Message{Room: "general", Seq: 3, ID: "id", From: "alice", FromID: "u", Text: "x"}
	if j := h.JSON(); j.EditedAt != nil || j.Deleted || j.Text != "x" {
		t.Fatalf("JSON of an unedited hit = %+v", j)
	}
	h.EditedAt = h.TS.AddDate(2026, 0, 0)
	if j := h.JSON(); j.EditedAt == nil || *j.EditedAt != FormatTime(h.EditedAt) {
		t.Fatalf("JSON of an edited hit = %+v", j)
	}
}

// FuzzParseSearch checks that any input parses to words of letters and
// digits only, lower-cased, or fails with invalid_request, never panics.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"", "hello", `"a" OR b*`, "a\x00b", "ΟΔΟΣ", "\xff", "é\u0301", "İstanbul", strings.Repeat("x ", 150)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got, err := ParseSearch(q)
		if err != nil {
			if ErrorCode(err) != CodeInvalidRequest {
				t.Fatalf("ParseSearch(%q) error %v is not invalid_request", q, err)
			}
			return
		}
		if !utf8.ValidString(q) || utf8.RuneCountInString(q) > MaxSearchChars || len(got.Words) == 0 {
			t.Fatalf("ParseSearch(%q) accepted it: %q", q, got.Words)
		}
		for _, w := range got.Words {
			if w == "" || FoldWord(w) != w {
				t.Fatalf("ParseSearch(%q): word %q is empty or not folded", q, w)
			}
			for _, r := range w {
				if !IsWordRune(r) {
					t.Fatalf("ParseSearch(%q): word %q holds %q", q, w, r)
				}
			}
		}
	})
}
