package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// FuzzParse checks the token parser never panics and accepts nothing but
// tokens Issue signed, byte for byte, returning the claims they carry.
func FuzzParse(f *testing.F) {
	now := func() time.Time { return testT0 }
	tok, err := NewTokens(TokenOptions{Secret: testSecret, PreviousSecret: otherSecret, Leeway: 5 * time.Second, Now: now})
	if err != nil {
		f.Fatal(err)
	}
	old, err := NewTokens(TokenOptions{Secret: otherSecret, Now: now})
	if err != nil {
		f.Fatal(err)
	}
	issued := map[string]Claims{}
	for i, issuer := range []*Tokens{tok, old} {
		for _, u := range []chat.User{testUser, {ID: "u2", Username: "bob"}} {
			s, _, err := issuer.Issue(u, testSession+string(rune('a'+i)))
			if err != nil {
				f.Fatal(err)
			}
			c, err := tok.Parse(s)
			if err != nil {
				f.Fatal(err)
			}
			issued[s] = c
			f.Add(s)
			parts := strings.Split(s, ".")
			f.Add(parts[0] + "." + parts[1] + ".")
			f.Add(parts[0] + ".e30." + parts[2])
			f.Add(strings.ToUpper(s))
		}
	}
	f.Add(forge(f, with(goodHeader(), "alg", "none"), goodClaims(), nil))
	f.Add(forge(f, with(goodHeader(), "alg", "HS512"), goodClaims(), testSecret))
	f.Add(forge(f, goodHeader(), goodClaims(), otherSecret))
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJ9.x")

	f.Fuzz(func(t *testing.T, s string) {
		c, err := tok.Parse(s)
		if err != nil {
			if code := chat.ErrorCode(err); code != chat.CodeInvalidToken && code != chat.CodeTokenExpired {
				t.Fatalf("Parse(%q): code %q, want invalid_token or token_expired", s, code)
			}
			return
		}
		// Fuzzing workers each run the setup above and so issue different
		// jti values; the check that holds in every process is that the
		// token is byte for byte one signed by one of the two keys, and that
		// the claims returned are the ones it carries.
		parts := strings.Split(s, ".")
		if len(parts) != 3 {
			t.Fatalf("Parse accepted %q with %d segments", s, len(parts))
		}
		if sig := parts[2]; sig != hmacSegment(testSecret, parts[0]+"."+parts[1]) && sig != hmacSegment(otherSecret, parts[0]+"."+parts[1]) {
			t.Fatalf("Parse accepted %q, which no key of ours signed", s)
		}
		var payload struct {
			Sub  string `json:"sub"`
			Name string `json:"name"`
			Sid  string `json:"sid"`
			Jti  string `json:"jti"`
		}
		decodeSegment(t, parts[1], &payload)
		if c.UserID != payload.Sub || c.Username != payload.Name || c.SessionID != payload.Sid || c.ID != payload.Jti {
			t.Fatalf("Parse(%q) = %+v, payload %+v", s, c, payload)
		}
		if want, ok := issued[s]; ok && c != want {
			t.Fatalf("Parse(%q) = %+v, want %+v", s, c, want)
		}
	})
}

func hmacSegment(secret []byte, signing string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signing))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
