package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatsvc/chat/internal/chat"
)

var (
	testSecret  = []byte("test-secret-0123456789abcdefghijklmnop")
	otherSecret = []byte("other-secret-0123456789abcdefghijklmno")
	testUser    = chat.User{ID: "0192f0a0-0000-7000-8000-000000000001", Username: "alice"}
	testSession = "0192f0a0-0000-7000-8000-0000000000aa"
	testT0      = time.Date(2026, 11, 25, 7, 53, 37, 0, time.UTC)
)

// clock is a settable time source for tests.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestTokens(tb testing.TB, o TokenOptions) *Tokens {
	tb.Helper()
	tok, err := NewTokens(o)
	if err != nil {
		tb.Fatalf("NewTokens: %v", err)
	}
	return tok
}

// forge signs claims with header fields and an HMAC over the first two
// segments using the hash named by alg ("none" gives an empty signature),
// bypassing the library so any header can be produced.
func forge(tb testing.TB, header, claims map[string]any, secret []byte) string {
	tb.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	var sig []byte
	switch header["alg"] {
	case "none":
	case "HS384":
		m := hmac.New(sha512.New384, secret)
		m.Write([]byte(signing))
		sig = m.Sum(nil)
	case "HS512":
		m := hmac.New(sha512.New, secret)
		m.Write([]byte(signing))
		sig = m.Sum(nil)
	default: // HS256, and algorithm-confusion attempts signed like HS256
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(signing))
		sig = m.Sum(nil)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// goodHeader and goodClaims are what Issue would write at testT0.
func goodHeader() map[string]any {
	return map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": KeyID(testSecret)}
}

func goodClaims() map[string]any {
	return map[string]any{
		"iss":  "chat",
		"aud":  []string{"chat"},
		"sub":  testUser.ID,
		"name": testUser.Username,
		"sid":  testSession,
		"jti":  "0192f0a0-0000-7000-8000-0000000000ff",
		"iat":  testT0.Unix(),
		"exp":  testT0.Add(15 * time.Minute).Unix(),
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
			continue
		}
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestIssueAndParse(t *testing.T) {
	clk := &clock{testT0.Add(123 * time.Millisecond)}
	tok := newTestTokens(t, TokenOptions{Secret: testSecret, Issuer: "chat-test", Leeway: 5 * time.Second, AccessTTL: 10 * time.Minute, Now: clk.Now})
	s, exp, err := tok.Issue(testUser, testSession)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if want := testT0.Add(10 * time.Minute); !exp.Equal(want) {
		t.Fatalf("expiry %v, want %v", exp, want)
	}
	c, err := tok.Parse(s)
	if err != nil {
		t.Fatalf("Parse(issued): %v", err)
	}
	want := Claims{UserID: testUser.ID, Username: testUser.Username, SessionID: testSession, ID: c.ID, IssuedAt: testT0, ExpiresAt: exp}
	if c.ID == "" || !c.IssuedAt.Equal(want.IssuedAt) || !c.ExpiresAt.Equal(want.ExpiresAt) ||
		c.UserID != want.UserID || c.Username != want.Username || c.SessionID != want.SessionID {
		t.Fatalf("claims = %+v, want %+v", c, want)
	}

	// The wire form: header and payload as the contract lists them.
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	var header map[string]any
	var payload map[string]any
	decodeSegment(t, parts[0], &header)
	decodeSegment(t, parts[1], &payload)
	if header["alg"] != "HS256" || header["typ"] != "at+jwt" || header["kid"] != KeyID(testSecret) {
		t.Fatalf("header = %v", header)
	}
	aud, ok := payload["aud"].([]any)
	if !ok || len(aud) != 1 || aud[0] != "chat" {
		t.Fatalf("aud = %#v, want [\"chat\"]", payload["aud"])
	}
	for _, k := range []string{"iss", "sub", "name", "sid", "jti", "iat", "exp"} {
		if _, ok := payload[k]; !ok {
			t.Errorf("payload lacks %q: %v", k, payload)
		}
	}
	if payload["iss"] != "chat-test" || payload["sub"] != testUser.ID || payload["name"] != "alice" || payload["sid"] != testSession {
		t.Fatalf("payload = %v", payload)
	}

	s2, _, err := tok.Issue(testUser, testSession)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := tok.Parse(s2)
	if err != nil {
		t.Fatal(err)
	}
	if c2.ID == c.ID {
		t.Fatalf("two tokens share jti %q", c.ID)
	}
	if tok.TokenTTL() != 10*time.Minute {
		t.Fatalf("TokenTTL = %v", tok.TokenTTL())
	}
}

func decodeSegment(tb testing.TB, seg string, v any) {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatalf("decode segment: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("unmarshal segment: %v", err)
	}
}

func TestIssueRequiresFields(t *testing.T) {
	tok := newTestTokens(t, TokenOptions{Secret: testSecret})
	for _, tt := range []struct {
		name string
		u    chat.User
		sid  string
	}{
		{"no user id", chat.User{Username: "alice"}, testSession},
		{"no username", chat.User{ID: "u1"}, testSession},
		{"no session", testUser, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := tok.Issue(tt.u, tt.sid); err == nil {
				t.Fatal("Issue succeeded")
			}
		})
	}
}

func TestParse(t *testing.T) {
	const leeway = 5 * time.Second
	tests := []struct {
		name     string
		header   map[string]any
		claims   map[string]any
		secret   []byte
		now      time.Time // testT0 when zero
		wantCode string    // "" for accepted
	}{
		{name: "valid", header: goodHeader(), claims: goodClaims()},
		{name: "aud as a string", header: goodHeader(), claims: with(goodClaims(), "aud", "chat")},
		{name: "aud among others", header: goodHeader(), claims: with(goodClaims(), "aud", []string{"other", "chat"})},
		{name: "typ media type", header: with(goodHeader(), "typ", "application/at+jwt"), claims: goodClaims()},
		{name: "jku ignored", header: with(goodHeader(), "jku", "https://evil.example/jwks"), claims: goodClaims()},
		{name: "expired within leeway", header: goodHeader(), claims: goodClaims(), now: testT0.Add(15*time.Minute + leeway - time.Second)},
		{name: "expired past leeway", header: goodHeader(), claims: goodClaims(), now: testT0.Add(15*time.Minute + leeway + time.Second), wantCode: chat.CodeTokenExpired},
		{name: "expired and wrong issuer", header: goodHeader(), claims: with(goodClaims(), "iss", "evil"), now: testT0.Add(time.Hour), wantCode: chat.CodeInvalidToken},
		{name: "expired and forged", header: goodHeader(), claims: goodClaims(), secret: otherSecret, now: testT0.Add(time.Hour), wantCode: chat.CodeInvalidToken},
		{name: "expired and missing sid", header: goodHeader(), claims: with(goodClaims(), "sid", nil), now: testT0.Add(time.Hour), wantCode: chat.CodeInvalidToken},
		{name: "issued in the future within leeway", header: goodHeader(), claims: goodClaims(), now: testT0.Add(-leeway + time.Second)},
		{name: "issued in the future past leeway", header: goodHeader(), claims: goodClaims(), now: testT0.Add(-leeway - time.Second), wantCode: chat.CodeInvalidToken},
		{name: "wrong key", header: goodHeader(), claims: goodClaims(), secret: otherSecret, wantCode: chat.CodeInvalidToken},
		{name: "HS384", header: with(goodHeader(), "alg", "HS384"), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "HS512", header: with(goodHeader(), "alg", "HS512"), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "alg none", header: with(goodHeader(), "alg", "none"), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "alg None", header: with(goodHeader(), "alg", "None"), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "RS256 signed with the secret as HMAC", header: with(goodHeader(), "alg", "RS256"), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "alg missing", header: with(goodHeader(), "alg", nil), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "missing exp", header: goodHeader(), claims: with(goodClaims(), "exp", nil), wantCode: chat.CodeInvalidToken},
		{name: "exp not a number", header: goodHeader(), claims: with(goodClaims(), "exp", "tomorrow"), wantCode: chat.CodeInvalidToken},
		{name: "wrong iss", header: goodHeader(), claims: with(goodClaims(), "iss", "evil"), wantCode: chat.CodeInvalidToken},
		{name: "missing iss", header: goodHeader(), claims: with(goodClaims(), "iss", nil), wantCode: chat.CodeInvalidToken},
		{name: "wrong aud", header: goodHeader(), claims: with(goodClaims(), "aud", []string{"billing"}), wantCode: chat.CodeInvalidToken},
		{name: "missing aud", header: goodHeader(), claims: with(goodClaims(), "aud", nil), wantCode: chat.CodeInvalidToken},
		{name: "wrong typ", header: with(goodHeader(), "typ", "JWT"), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "refresh typ", header: with(goodHeader(), "typ", "rt+jwt"), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "missing typ", header: with(goodHeader(), "typ", nil), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "unknown kid", header: with(goodHeader(), "kid", "0000000000000000"), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "missing kid", header: with(goodHeader(), "kid", nil), claims: goodClaims(), wantCode: chat.CodeInvalidToken},
		{name: "kid of another key", header: with(goodHeader(), "kid", KeyID(otherSecret)), claims: goodClaims(), secret: otherSecret, wantCode: chat.CodeInvalidToken},
		{name: "missing sub", header: goodHeader(), claims: with(goodClaims(), "sub", nil), wantCode: chat.CodeInvalidToken},
		{name: "missing sid", header: goodHeader(), claims: with(goodClaims(), "sid", nil), wantCode: chat.CodeInvalidToken},
		{name: "missing name", header: goodHeader(), claims: with(goodClaims(), "name", nil), wantCode: chat.CodeInvalidToken},
		{name: "empty sub", header: goodHeader(), claims: with(goodClaims(), "sub", ""), wantCode: chat.CodeInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = testT0
			}
			tok := newTestTokens(t, TokenOptions{Secret: testSecret, Leeway: leeway, Now: func() time.Time { return now }})
			secret := tt.secret
			if secret == nil {
				secret = testSecret
			}
			s := forge(t, tt.header, tt.claims, secret)
			c, err := tok.Parse(s)
			if got := chat.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("Parse: code %q (err %v), want %q", got, err, tt.wantCode)
			}
			if tt.wantCode == "" {
				if c.UserID != testUser.ID || c.SessionID != testSession || c.Username != testUser.Username {
					t.Fatalf("claims = %+v", c)
				}
				return
			}
			if c != (Claims{}) {
				t.Fatalf("refused token returned claims %+v", c)
			}
			if tt.wantCode == chat.CodeTokenExpired && !errors.Is(err, chat.ErrTokenExpired) {
				t.Fatalf("err %v is not chat.ErrTokenExpired", err)
			}
		})
	}
}

func TestParseGarbage(t *testing.T) {
	tok := newTestTokens(t, TokenOptions{Secret: testSecret, Now: func() time.Time { return testT0 }})
	valid := forge(t, goodHeader(), goodClaims(), testSecret)
	parts := strings.Split(valid, ".")
	tests := map[string]string{
		"empty":              "",
		"one segment":        "abc",
		"two segments":       parts[0] + "." + parts[1],
		"four segments":      valid + ".x",
		"no signature":       parts[0] + "." + parts[1] + ".",
		"padded signature":   valid + "==",
		"bad base64":         parts[0] + ".!!!." + parts[2],
		"huge":               strings.Repeat("a", 5000),
		"bearer prefix":      "Bearer " + valid,
		"payload swapped":    parts[0] + "." + forgePayload(t, with(goodClaims(), "sub", "mallory")) + "." + parts[2],
		"non-canonical b64":  parts[0] + "." + parts[1] + "." + flipLastBits(parts[2]),
		"header not an obj":  base64.RawURLEncoding.EncodeToString([]byte(`"x"`)) + "." + parts[1] + "." + parts[2],
		"claims not an obj":  parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + "." + parts[2],
		"whitespace wrapped": " " + valid + " ",
	}
	if _, err := tok.Parse(valid); err != nil {
		t.Fatalf("Parse(valid): %v", err)
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := tok.Parse(s); chat.ErrorCode(err) != chat.CodeInvalidToken {
				t.Fatalf("Parse: %v, want invalid_token", err)
			}
		})
	}
}

func forgePayload(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// flipLastBits changes the unused low bits of the last base64 character, so
// the segment decodes to the same bytes only under lenient decoding.
func flipLastBits(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last^1])
}

func TestKeyRotation(t *testing.T) {
	now := func() time.Time { return testT0 }
	old := newTestTokens(t, TokenOptions{Secret: otherSecret, Now: now})
	cur := newTestTokens(t, TokenOptions{Secret: testSecret, PreviousSecret: otherSecret, Now: now})
	stranger := newTestTokens(t, TokenOptions{Secret: []byte("stranger-secret-0123456789abcdefghijkl"), Now: now})

	tests := []struct {
		name   string
		issuer *Tokens
		ok     bool
	}{
		{"current key", cur, true},
		{"previous key", old, true},
		{"unrelated key", stranger, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := tt.issuer.Issue(testUser, testSession)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cur.Parse(s)
			if (err == nil) != tt.ok {
				t.Fatalf("Parse: %v, want accepted=%v", err, tt.ok)
			}
		})
	}

	// A token signed with the previous key must carry the previous kid.
	mislabelled := forge(t, with(goodHeader(), "kid", KeyID(testSecret)), goodClaims(), otherSecret)
	if _, err := cur.Parse(mislabelled); chat.ErrorCode(err) != chat.CodeInvalidToken {
		t.Fatalf("previous key under the current kid: %v, want invalid_token", err)
	}
	// The old node does not accept the new key.
	s, _, err := cur.Issue(testUser, testSession)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Parse(s); err == nil {
		t.Fatal("a node without the new key accepted its token")
	}
}

func TestKeyID(t *testing.T) {
	tests := []struct {
		secret string
		want   string
	}{
		// printf %s SECRET | sha256sum | cut -c1-16
		{"", "e3b0c44298fc1c14"},
		{"abc", "ba7816bf8f01cfea"},
	}
	for _, tt := range tests {
		if got := KeyID([]byte(tt.secret)); got != tt.want {
			t.Errorf("KeyID(%q) = %q, want %q", tt.secret, got, tt.want)
		}
	}
	sum := sha256.Sum256(testSecret)
	if got, want := KeyID(testSecret), fmt.Sprintf("%x", sum)[:16]; got != want {
		t.Fatalf("KeyID = %q, want %q", got, want)
	}
	tok := newTestTokens(t, TokenOptions{Secret: testSecret})
	s, _, err := tok.Issue(testUser, testSession)
	if err != nil {
		t.Fatal(err)
	}
	var header map[string]any
	decodeSegment(t, strings.Split(s, ".")[0], &header)
	if header["kid"] != KeyID(testSecret) {
		t.Fatalf("kid = %v, want %v", header["kid"], KeyID(testSecret))
	}
}

func TestNewTokensOptions(t *testing.T) {
	tests := []struct {
		name    string
		o       TokenOptions
		wantErr string
	}{
		{name: "defaults with secret", o: TokenOptions{Secret: testSecret}},
		{name: "short secret", o: TokenOptions{Secret: []byte("short")}, wantErr: "at least 32"},
		{name: "31 bytes", o: TokenOptions{Secret: []byte(strings.Repeat("x", 31))}, wantErr: "at least 32"},
		{name: "32 bytes", o: TokenOptions{Secret: []byte(strings.Repeat("x", 32))}},
		{name: "short previous", o: TokenOptions{Secret: testSecret, PreviousSecret: []byte("short")}, wantErr: "previous"},
		{name: "leeway too large", o: TokenOptions{Secret: testSecret, Leeway: 31 * time.Second}, wantErr: "leeway"},
		{name: "negative leeway", o: TokenOptions{Secret: testSecret, Leeway: -time.Second}, wantErr: "leeway"},
		{name: "negative ttl", o: TokenOptions{Secret: testSecret, AccessTTL: -time.Second}, wantErr: "negative"},
		{name: "max leeway", o: TokenOptions{Secret: testSecret, Leeway: 30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := NewTokens(tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewTokens = %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewTokens: %v", err)
			}
			if tok.Ephemeral() {
				t.Fatal("Ephemeral with a configured secret")
			}
			if tt.o.AccessTTL == 0 && tok.TokenTTL() != DefaultAccessTTL {
				t.Fatalf("TokenTTL = %v, want %v", tok.TokenTTL(), DefaultAccessTTL)
			}
		})
	}
}

func TestEphemeralTokens(t *testing.T) {
	a := newTestTokens(t, TokenOptions{})
	b := newTestTokens(t, TokenOptions{})
	if !a.Ephemeral() || !b.Ephemeral() {
		t.Fatal("Ephemeral = false without a secret")
	}
	s, _, err := a.Issue(testUser, testSession)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Parse(s); err != nil {
		t.Fatalf("own token refused: %v", err)
	}
	if _, err := b.Parse(s); err == nil {
		t.Fatal("another process's random key accepted the token")
	}
}

// TestParseLeewayWithIssue runs the expiry through Issue and a moving clock.
func TestParseLeewayWithIssue(t *testing.T) {
	clk := &clock{testT0}
	tok := newTestTokens(t, TokenOptions{Secret: testSecret, Leeway: 10 * time.Second, AccessTTL: time.Minute, Now: clk.Now})
	s, _, err := tok.Issue(testUser, testSession)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at   time.Duration
		want string
	}{
		{59 * time.Second, ""},
		{69 * time.Second, ""},
		{71 * time.Second, chat.CodeTokenExpired},
		{24 * time.Hour, chat.CodeTokenExpired},
	}
	for _, st := range steps {
		clk.t = testT0.Add(st.at)
		if _, err := tok.Parse(s); chat.ErrorCode(err) != st.want {
			t.Fatalf("at +%v: %v, want code %q", st.at, err, st.want)
		}
	}
}

func TestParseLibraryNone(t *testing.T) {
	// The library's own "none" token, as an attacker would build it.
	tok := newTestTokens(t, TokenOptions{Secret: testSecret, Now: func() time.Time { return testT0 }})
	j := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(goodClaims()))
	j.Header["typ"] = "at+jwt"
	j.Header["kid"] = KeyID(testSecret)
	s, err := j.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Parse(s); chat.ErrorCode(err) != chat.CodeInvalidToken {
		t.Fatalf("Parse(alg none) = %v, want invalid_token", err)
	}
}
