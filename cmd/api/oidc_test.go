package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// testProvider is an OpenID Connect provider with one ES256 key, served by
// the test.
type testProvider struct {
	url string
	key *ecdsa.PrivateKey
}

func newTestProvider(t *testing.T) *testProvider {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{key: k}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.url, "jwks_uri": p.url + "/keys"})
		case "/keys":
			b, _ := k.PublicKey.Bytes()
			enc := base64.RawURLEncoding.EncodeToString
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{
				{"kty": "EC", "crv": "P-256", "kid": "k1", "x": enc(b[1:33]), "y": enc(b[33:])},
			}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *testProvider) token(t *testing.T, sub, name string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": p.url, "aud": "chat-api", "sub": sub, "preferred_username": name,
		"iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix(),
	})
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(p.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRunOIDC runs the service with CHAT_OIDC_ISSUER: a provider's token
// authenticates REST and /ws like ours, and a name taken by a local account
// is refused.
func TestRunOIDC(t *testing.T) {
	p := newTestProvider(t)
	s := startRun(t, map[string]string{"CHAT_OIDC_ISSUER": p.url, "CHAT_OIDC_AUDIENCE": "chat-api"})
	s.client.Timeout = slowRequest
	local := signUp(t, s, "taken")

	tok := p.token(t, "subject-1", "Dana")
	code, body := s.call(t, http.MethodGet, "/api/v1/me", nil, tok)
	var me struct {
		User struct{ ID, Username string } `json:"user"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &me) != nil || me.User.Username != "dana" {
		t.Fatalf("me with a provider token: %d %s", code, body)
	}

	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.url, "http")+"/ws",
		http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatalf("/ws with a provider token: %v (%v)", err, resp)
	}
	defer ws.Close()
	var welcome struct {
		Type      string `json:"type"`
		SessionID string `json:"session_id"`
		User      struct{ ID, Username string }
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != "welcome" || welcome.User.ID != me.User.ID || !strings.HasPrefix(welcome.SessionID, "ext-") {
		t.Fatalf("welcome %+v (%v)", welcome, err)
	}

	code, body = s.call(t, http.MethodGet, "/api/v1/me", nil, p.token(t, "subject-2", "Taken"))
	if code != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_token") || !strings.Contains(string(body), "another account") {
		t.Fatalf("a local account's name: %d %s, want 401 invalid_token naming the clash", code, body)
	}
	// Our own tokens keep working beside the provider's.
	if code, body := s.call(t, http.MethodGet, "/api/v1/me", nil, local.access); code != http.StatusOK || !strings.Contains(string(body), local.id) {
		t.Fatalf("own token: %d %s", code, body)
	}
}
