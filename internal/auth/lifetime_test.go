package auth

import (
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// TestTokenLifetimeBounded checks that a token living longer than the
// access lifetime plus leeway, or without iat, is refused even with a good
// signature.
func TestTokenLifetimeBounded(t *testing.T) {
	clk := &clock{t: testT0.Add(time.Minute)}
	tok := newTestTokens(t, TokenOptions{Secret: testSecret, Leeway: 5 * time.Second, AccessTTL: 15 * time.Minute, Now: clk.Now})
	tests := []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"the lifetime", goodClaims(), true},
		{"lifetime plus leeway", with(goodClaims(), "exp", testT0.Add(15*time.Minute+5*time.Second).Unix()), true},
		{"a second more", with(goodClaims(), "exp", testT0.Add(15*time.Minute+6*time.Second).Unix()), false},
		{"a year", with(goodClaims(), "exp", testT0.Add(365*24*time.Hour).Unix()), false},
		{"no iat", with(goodClaims(), "iat", nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tok.Parse(forge(t, goodHeader(), tt.claims, testSecret))
			if (err == nil) != tt.ok {
				t.Fatalf("Parse: %v, want accepted=%v", err, tt.ok)
			}
			if err != nil && chat.ErrorCode(err) != chat.CodeInvalidToken {
				t.Fatalf("code %q, want invalid_token", chat.ErrorCode(err))
			}
		})
	}
}

// TestPreviousKeyEnds checks that tokens of the previous key are accepted
// only until the last of them has expired, or until a stated end.
func TestPreviousKeyEnds(t *testing.T) {
	const ttl, leeway = 15 * time.Minute, 5 * time.Second
	old := newTestTokens(t, TokenOptions{Secret: otherSecret, AccessTTL: ttl, Now: func() time.Time { return testT0 }})
	signed, _, err := old.Issue(testUser, testSession)
	if err != nil {
		t.Fatal(err)
	}
	// A node with a newer key starts at testT0: the old key signed nothing
	// after that.
	tests := []struct {
		name  string
		until time.Time
		at    time.Duration // after testT0
		ok    bool
	}{
		{"default, fresh token", time.Time{}, time.Minute, true},
		{"default, after the last token's expiry", time.Time{}, ttl + leeway, false},
		{"stated end, before it", testT0.Add(2 * time.Minute), time.Minute, true},
		{"stated end, after it", testT0.Add(2 * time.Minute), 2 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: testT0}
			cur := newTestTokens(t, TokenOptions{Secret: testSecret, PreviousSecret: otherSecret, PreviousUntil: tt.until,
				AccessTTL: ttl, Leeway: leeway, Now: clk.Now})
			clk.Advance(tt.at)
			// The token itself may have expired: what matters is whether
			// its key is still known (token_expired) or not (invalid_token).
			_, err := cur.Parse(signed)
			known := err == nil || chat.ErrorCode(err) == chat.CodeTokenExpired
			if known != tt.ok {
				t.Fatalf("Parse at +%v: %v, want key accepted=%v", tt.at, err, tt.ok)
			}
		})
	}
}

// TestIssueAtDeterministic checks that IssueAt with the same arguments signs
// the same token, and Issue does not.
func TestIssueAtDeterministic(t *testing.T) {
	tok := newTestTokens(t, TokenOptions{Secret: testSecret, Now: func() time.Time { return testT0 }})
	a, _, err := tok.IssueAt(testUser, testSession, testT0.Add(300*time.Millisecond), "jti-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := tok.IssueAt(testUser, testSession, testT0, "jti-1")
	if a != b {
		t.Fatal("IssueAt gave two tokens for one second and jti")
	}
	c, _, _ := tok.Issue(testUser, testSession)
	d, _, _ := tok.Issue(testUser, testSession)
	if c == d {
		t.Fatal("Issue gave one token twice")
	}
}
