package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

// newOIDCEnv is a Service on a fresh SQLite store that also accepts the
// tokens of is.
func newOIDCEnv(tb testing.TB, is *issuer) *env {
	tb.Helper()
	return newEnv(tb, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		ext, err := NewOIDC(OIDCOptions{
			Issuer:   is.url,
			Audience: testAudience,
			Leeway:   5 * time.Second,
			Store:    o.Store.(*store.DB),
			Now:      clk.Now,
		})
		if err != nil {
			tb.Fatal(err)
		}
		o.External = ext
	})
}

func TestOIDCAccepts(t *testing.T) {
	rs, es, ed := newSigner(t, "rs", "RS256"), newSigner(t, "es", "ES256"), newSigner(t, "ed", "EdDSA")
	is := newIssuer(t, rs, es, ed)
	e := newOIDCEnv(t, is)
	ctx := t.Context()

	var first Claims
	for i, s := range []signer{es, rs, ed} {
		c, err := e.svc.Authenticate(ctx, is.token(t, s, e.clk.Now(), jwt.MapClaims{"jti": "j" + s.kid}))
		if err != nil {
			t.Fatalf("%s: %v", s.method.Alg(), err)
		}
		if c.Username != "ext_user" || c.UserID == "" || !strings.HasPrefix(c.SessionID, ExternalSessionPrefix) || c.ID != "j"+s.kid || c.ExpiresAt.IsZero() {
			t.Fatalf("%s: claims %+v", s.method.Alg(), c)
		}
		if i == 0 {
			first = c
		} else if c.UserID != first.UserID || c.SessionID != first.SessionID {
			t.Fatalf("%s: user %s session %s, want the first token's %s %s", s.method.Alg(), c.UserID, c.SessionID, first.UserID, first.SessionID)
		}
	}

	// The user is keyed by sub: a later name claim changes nothing, and
	// the provider's sid gives a session of its own.
	c, err := e.svc.Authenticate(ctx, is.token(t, es, e.clk.Now(), jwt.MapClaims{"preferred_username": "renamed", "sid": "p-session"}))
	if err != nil || c.UserID != first.UserID || c.Username != "ext_user" || c.SessionID == first.SessionID {
		t.Fatalf("renamed claim: %+v %v", c, err)
	}
	if u, err := e.db.UserByExternalID(ctx, is.url, "s-1"); err != nil || u.ID != first.UserID {
		t.Fatalf("stored identity: %+v %v", u, err)
	}
	// A user of the provider has no password.
	if _, _, err := e.svc.Login(ctx, "ext_user", testPassword, testIP); chat.ErrorCode(err) != chat.CodeInvalidCredentials {
		t.Fatalf("password login of an external user: %v, want invalid_credentials", err)
	}
	// Our own tokens still work beside the provider's.
	e.register(t, "alice")
	pair := e.login(t, "alice")
	if c, err := e.svc.Authenticate(ctx, pair.AccessToken); err != nil || c.Username != "alice" {
		t.Fatalf("own token: %+v %v", c, err)
	}
}

func TestOIDCRefuses(t *testing.T) {
	es, ed := newSigner(t, "es", "ES256"), newSigner(t, "ed", "EdDSA")
	is := newIssuer(t, es, ed)
	e := newOIDCEnv(t, is)
	e.register(t, "alice")
	now := e.clk.Now()
	stranger := newSigner(t, "es", "ES256") // the published kid, another key
	misnamed := newSigner(t, "ed", "ES256") // the EdDSA key's kid on an ES256 token

	tests := []struct {
		name  string
		token string
		code  string
	}{
		{"unknown kid", is.token(t, newSigner(t, "nope", "ES256"), now, nil), chat.CodeInvalidToken},
		{"forged signature", is.token(t, stranger, now, nil), chat.CodeInvalidToken},
		{"algorithm of another key", is.token(t, misnamed, now, nil), chat.CodeInvalidToken},
		{"HS256 with the issuer", hs256(t, is.url), chat.CodeInvalidToken},
		{"wrong audience", is.token(t, es, now, jwt.MapClaims{"aud": "someone-else"}), chat.CodeInvalidToken},
		{"wrong issuer", is.token(t, es, now, jwt.MapClaims{"iss": "https://evil.example.com"}), chat.CodeInvalidToken},
		{"expired", is.token(t, es, now, jwt.MapClaims{"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-time.Minute).Unix()}), chat.CodeTokenExpired},
		{"expired with a wrong audience", is.token(t, es, now, jwt.MapClaims{"aud": "x", "exp": now.Add(-time.Minute).Unix()}), chat.CodeInvalidToken},
		{"no exp", is.token(t, es, now, jwt.MapClaims{"exp": nil}), chat.CodeInvalidToken},
		{"not yet valid", is.token(t, es, now, jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()}), chat.CodeInvalidToken},
		{"no sub", is.token(t, es, now, jwt.MapClaims{"sub": nil}), chat.CodeInvalidToken},
		{"no username claim", is.token(t, es, now, jwt.MapClaims{"sub": "s-2", "preferred_username": nil}), chat.CodeInvalidToken},
		{"bad username claim", is.token(t, es, now, jwt.MapClaims{"sub": "s-3", "preferred_username": "no spaces allowed"}), chat.CodeInvalidToken},
		{"username of a local account", is.token(t, es, now, jwt.MapClaims{"sub": "s-4", "preferred_username": "Alice"}), chat.CodeInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Authenticate(t.Context(), tt.token)
			if code := chat.ErrorCode(err); code != tt.code {
				t.Fatalf("code %q (%v), want %q", code, err, tt.code)
			}
		})
	}
	// The local alice is untouched and no identity took her over.
	if u, _, err := e.db.UserByName(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	} else if _, err := e.db.UserByExternalID(t.Context(), is.url, "s-4"); !errors.Is(err, chat.ErrNotFound) {
		t.Fatalf("identity s-4 linked (%v) to someone; alice is %s", err, u.ID)
	}
}

// hs256 is a token signed with a shared secret that claims iss.
func hs256(tb testing.TB, iss string) string {
	tb.Helper()
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": iss, "aud": testAudience, "sub": "s-1", "exp": time.Now().Add(time.Minute).Unix()})
	t.Header["kid"] = "es"
	s, err := t.SignedString([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestOIDCKeyRotation publishes a new key: its tokens are accepted once the
// JWKS is fetched again, and unknown kids never fetch it more than once per
// jwksMinRefetch.
func TestOIDCKeyRotation(t *testing.T) {
	old, next := newSigner(t, "k1", "ES256"), newSigner(t, "k2", "ES256")
	is := newIssuer(t, old)
	e := newOIDCEnv(t, is)
	ctx := t.Context()
	if _, err := e.svc.Authenticate(ctx, is.token(t, old, e.clk.Now(), nil)); err != nil {
		t.Fatal(err)
	}
	is.publish(old, next)
	hits := is.jwksHits.Load()
	// Within jwksMinRefetch of the last fetch, a new kid is not fetched.
	for range 5 {
		if _, err := e.svc.Authenticate(ctx, is.token(t, next, e.clk.Now(), nil)); chat.ErrorCode(err) != chat.CodeInvalidToken {
			t.Fatalf("new kid before a refetch: %v", err)
		}
	}
	if got := is.jwksHits.Load(); got != hits {
		t.Fatalf("%d JWKS fetches within %v, want none", got-hits, jwksMinRefetch)
	}
	e.clk.Advance(jwksMinRefetch)
	if _, err := e.svc.Authenticate(ctx, is.token(t, next, e.clk.Now(), nil)); err != nil {
		t.Fatalf("new kid after %v: %v", jwksMinRefetch, err)
	}
	if got := is.jwksHits.Load(); got != hits+1 {
		t.Fatalf("%d JWKS fetches, want 1", got-hits)
	}
	// The old key is withdrawn: once the keys are old enough to be fetched
	// again, its tokens are refused.
	is.publish(next)
	e.clk.Advance(jwksRefreshAfter)
	if _, err := e.svc.Authenticate(ctx, is.token(t, old, e.clk.Now(), nil)); chat.ErrorCode(err) != chat.CodeInvalidToken {
		t.Fatalf("withdrawn key: %v", err)
	}
}

// TestOIDCProviderAway takes the provider away: before its keys were ever
// fetched its tokens are refused and ours keep working; keys fetched before
// stay usable up to jwksMaxAge.
func TestOIDCProviderAway(t *testing.T) {
	k := newSigner(t, "k1", "EdDSA")
	is := newIssuer(t, k)
	e := newOIDCEnv(t, is)
	ctx := t.Context()
	e.register(t, "alice")
	pair := e.login(t, "alice")

	is.down.Store(true)
	if _, err := e.svc.Authenticate(ctx, is.token(t, k, e.clk.Now(), nil)); chat.ErrorCode(err) != chat.CodeInvalidToken {
		t.Fatalf("provider away: %v", err)
	}
	if _, err := e.svc.Authenticate(ctx, pair.AccessToken); err != nil {
		t.Fatalf("own token while the provider is away: %v", err)
	}

	is.down.Store(false)
	e.clk.Advance(jwksMinRefetch)
	if _, err := e.svc.Authenticate(ctx, is.token(t, k, e.clk.Now(), nil)); err != nil {
		t.Fatalf("provider back: %v", err)
	}
	is.down.Store(true)
	e.clk.Advance(jwksRefreshAfter + time.Minute)
	if _, err := e.svc.Authenticate(ctx, is.token(t, k, e.clk.Now(), nil)); err != nil {
		t.Fatalf("cached key while the provider is away: %v", err)
	}
	e.clk.Advance(jwksMaxAge)
	if _, err := e.svc.Authenticate(ctx, is.token(t, k, e.clk.Now(), nil)); chat.ErrorCode(err) != chat.CodeInvalidToken {
		t.Fatalf("key older than %v: %v", jwksMaxAge, err)
	}
}

// TestOIDCDiscoveryIssuerMismatch serves a discovery document naming
// another issuer: no key is trusted.
func TestOIDCDiscoveryIssuerMismatch(t *testing.T) {
	k := newSigner(t, "k1", "ES256")
	is := newIssuer(t, k)
	other := "https://evil.example.com"
	is.docIssuer.Store(&other)
	e := newOIDCEnv(t, is)
	_, err := e.svc.Authenticate(t.Context(), is.token(t, k, e.clk.Now(), nil))
	if chat.ErrorCode(err) != chat.CodeInvalidToken || !strings.Contains(err.Error(), "discovery") {
		t.Fatalf("mismatched discovery: %v", err)
	}
	if is.jwksHits.Load() != 0 {
		t.Fatal("the JWKS was fetched after a mismatched discovery document")
	}
}

func TestJWKRefusesWeakKeys(t *testing.T) {
	tests := []struct {
		name string
		key  jwk
	}{
		{"small RSA", jwk{Kty: "RSA", Kid: "a", N: "AQAB", E: "AQAB"}},
		{"P-384", jwk{Kty: "EC", Kid: "a", Crv: "P-384", X: "AA", Y: "AA"}},
		{"point off the curve", jwk{Kty: "EC", Kid: "a", Crv: "P-256", X: strings.Repeat("A", 43), Y: strings.Repeat("A", 43)}},
		{"short Ed25519", jwk{Kty: "OKP", Kid: "a", Crv: "Ed25519", X: "AAAA"}},
		{"X25519", jwk{Kty: "OKP", Kid: "a", Crv: "X25519", X: strings.Repeat("A", 43)}},
		{"symmetric", jwk{Kty: "oct", Kid: "a"}},
	}
	for _, tt := range tests {
		if _, err := tt.key.publicKey(); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	good := newSigner(t, "g", "EdDSA").jwk()
	k := jwk{Kty: good["kty"], Kid: "g", Crv: good["crv"], X: good["x"], Alg: "ES256"}
	if _, err := k.publicKey(); err == nil {
		t.Error("an Ed25519 key marked alg ES256 was accepted")
	}
}
