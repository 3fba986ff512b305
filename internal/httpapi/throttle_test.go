package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRegisterRateLimitedCountedOnce checks that each refused registration
// moves chat_rate_limited_total{scope="register"} by one.
func TestRegisterRateLimitedCountedOnce(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, envOptions{registerRate: chat.Rate{N: 1, Per: time.Minute}})
	register := func(name string) int {
		b, _ := json.Marshal(map[string]string{"username": name, "password": testPassword})
		return e.do(request{method: http.MethodPost, path: "/api/v1/auth/register", body: string(b), remoteAddr: "198.51.100.9:4000"}).Code
	}
	if code := register("user1"); code != http.StatusCreated {
		t.Fatalf("first registration: %d", code)
	}
	for _, name := range []string{"user2", "user3"} {
		if code := register(name); code != http.StatusTooManyRequests {
			t.Fatalf("registration of %s: %d, want 429", name, code)
		}
	}
	if got := testutil.ToFloat64(e.m.RateLimitedRegister); got != 2 {
		t.Fatalf("chat_rate_limited_total{scope=register} = %v after 2 refusals, want 2", got)
	}
}

// TestStoreFailureIsNotATokenError checks that a session check that cannot
// read the store answers 500, not 401.
func TestStoreFailureIsNotATokenError(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, envOptions{})
	e.register("alice")
	tok := e.login("alice").AccessToken
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	rec := e.get("/api/v1/me", tok)
	wantError(t, rec, http.StatusInternalServerError, chat.CodeInternal)
	if h := rec.Header().Get("WWW-Authenticate"); h != "" {
		t.Fatalf("WWW-Authenticate %q on a store failure", h)
	}
}
