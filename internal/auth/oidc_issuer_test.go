package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testAudience is the audience the test issuer's tokens are for.
const testAudience = "chat-api"

// signer is one key of the test issuer.
type signer struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

// jwk returns the public half of s as a JWK.
func (s signer) jwk() map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := s.priv.Public().(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": s.kid, "use": "sig", "alg": "RS256",
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		b, _ := pub.Bytes()
		return map[string]string{"kty": "EC", "kid": s.kid, "crv": "P-256", "x": b64(b[1:33]), "y": b64(b[33:])}
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "kid": s.kid, "crv": "Ed25519", "x": b64(pub)}
	}
	panic("unknown key type")
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func newSigner(tb testing.TB, kid, alg string) signer {
	tb.Helper()
	switch alg {
	case "RS256":
		rsaOnce.Do(func() {
			var err error
			if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				tb.Fatal(err)
			}
		})
		return signer{kid: kid, method: jwt.SigningMethodRS256, priv: rsaKey}
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return signer{kid: kid, method: jwt.SigningMethodES256, priv: k}
	case "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return signer{kid: kid, method: jwt.SigningMethodEdDSA, priv: k}
	}
	tb.Fatalf("unknown alg %s", alg)
	return signer{}
}

// issuer is an OpenID Connect provider served by the test: discovery and a
// JWKS whose keys the test changes, and a switch that takes it away.
type issuer struct {
	srv       *httptest.Server
	url       string
	docIssuer atomic.Pointer[string] // the issuer the document names; url when nil
	down      atomic.Bool
	jwksHits  atomic.Int64
	mu        sync.Mutex
	published []signer
}

func newIssuer(tb testing.TB, keys ...signer) *issuer {
	tb.Helper()
	is := &issuer{published: keys}
	is.srv = httptest.NewServer(http.HandlerFunc(is.serve))
	tb.Cleanup(is.srv.Close)
	is.url = is.srv.URL
	return is
}

func (is *issuer) serve(w http.ResponseWriter, r *http.Request) {
	if is.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		iss := is.url
		if p := is.docIssuer.Load(); p != nil {
			iss = *p
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": is.url + "/keys"})
	case "/keys":
		is.jwksHits.Add(1)
		is.mu.Lock()
		keys := make([]map[string]string, len(is.published))
		for i, s := range is.published {
			keys[i] = s.jwk()
		}
		is.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	default:
		http.NotFound(w, r)
	}
}

// publish replaces the published keys.
func (is *issuer) publish(keys ...signer) {
	is.mu.Lock()
	is.published = keys
	is.mu.Unlock()
}

// token signs claims with s; iss, aud, sub, exp and iat default to a good
// token of user sub "s-1" named "ext_user" valid for 5 minutes from now.
func (is *issuer) token(tb testing.TB, s signer, now time.Time, over jwt.MapClaims) string {
	tb.Helper()
	c := jwt.MapClaims{
		"iss":                is.url,
		"aud":                testAudience,
		"sub":                "s-1",
		"preferred_username": "Ext_User",
		"iat":                now.Unix(),
		"exp":                now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	t := jwt.NewWithClaims(s.method, c)
	t.Header["kid"] = s.kid
	out, err := t.SignedString(s.priv)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
