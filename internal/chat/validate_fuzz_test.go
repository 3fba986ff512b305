package chat

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzValidateText checks ValidateText against the contract's rule for a
// message text, stated here on its own: valid UTF-8, 1 to maxChars code
// points, not only white space, no C0 control character but tab, line feed
// and carriage return; and that each refusal has the code of the first
// rule broken (bad_request, then text_too_long, then text_empty).
func FuzzValidateText(f *testing.F) {
	for _, s := range []string{"hi", "", " \t\n", "\u00a0", "a\x00b", "bell\a", "\xff", "é", "\r\n", "\x7f", "\u2028"} {
		f.Add(s, uint16(4))
	}
	f.Add(strings.Repeat("é", 5), uint16(4))
	f.Fuzz(func(t *testing.T, text string, max uint16) {
		maxChars := int(max % 5000)
		forbidden := strings.IndexFunc(text, func(r rune) bool { return r < 0x20 && !strings.ContainsRune("\t\n\r", r) }) >= 0
		var want string
		switch {
		case !utf8.ValidString(text) || forbidden:
			want = CodeBadRequest
		case utf8.RuneCountInString(text) > maxChars:
			want = CodeTextTooLong
		case strings.TrimFunc(text, unicode.IsSpace) == "":
			want = CodeTextEmpty
		}
		if got := ErrorCode(ValidateText(text, maxChars)); got != want {
			t.Fatalf("ValidateText(%q, %d) = %q, want %q", text, maxChars, got, want)
		}
	})
}

// FuzzValidateTopic checks topics and moderation reasons against their
// rule stated on its own: valid UTF-8, at most 500 code points, no control
// character but tab (DEL included); a refusal is invalid_request.
func FuzzValidateTopic(f *testing.F) {
	for _, s := range []string{"", "Deploys and incidents", "tab\there", "new\nline", "\x7f", "\xc3", strings.Repeat("ü", 501), strings.Repeat("ü", 500)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := utf8.ValidString(s) && utf8.RuneCountInString(s) <= MaxTopicChars &&
			strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) < 0
		for name, err := range map[string]error{"topic": ValidateTopic(s), "reason": ValidateReason(s)} {
			if (err == nil) != ok || err != nil && ErrorCode(err) != CodeInvalidRequest {
				t.Fatalf("validate %s %q: %v, want ok %v", name, s, err, ok)
			}
		}
	})
}

// FuzzParseMute checks that ParseMute accepts exactly the Go durations
// above 0 and at most 720h, returning that duration.
func FuzzParseMute(f *testing.F) {
	for _, s := range []string{"10m", "720h", "720h0m0.000000001s", "0s", "-1h", "1.5h", "", "1d", "9223372036854775807ns", "99999999999999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseMute(s)
		want, perr := time.ParseDuration(s)
		ok := perr == nil && want > 0 && want <= MaxMute
		if (err == nil) != ok || err == nil && d != want || err != nil && (d != 0 || ErrorCode(err) != CodeInvalidRequest) {
			t.Fatalf("ParseMute(%q) = %v, %v; ParseDuration gives %v, %v", s, d, err, want, perr)
		}
	})
}
