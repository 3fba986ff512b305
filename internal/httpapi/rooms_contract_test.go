package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
)

// TestDirectRoomsNotRateLimited checks that CHAT_ROOM_CREATE_RATE counts
// rooms made by POST /api/v1/rooms but not direct rooms: a user may open
// any number of DMs, and doing so leaves their room allowance whole.
func TestDirectRoomsNotRateLimited(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOptions{roomCreateRate: auth.Rate{N: 1, Per: time.Hour}})
		p := newPeople(e, "alice", "bob", "carol", "dave")
		for _, other := range []string{"bob", "carol", "dave"} {
			wantStatus(t, p.call("alice", http.MethodPost, "/api/v1/dms", map[string]string{"username": other}), http.StatusOK, "")
		}
		wantStatus(t, p.call("alice", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "mine", "kind": "public"}), http.StatusCreated, "")
		wantError(t, p.call("alice", http.MethodPost, "/api/v1/rooms", map[string]string{"name": "more", "kind": "public"}), http.StatusTooManyRequests, chat.CodeRateLimited)
		// Past the limit, a DM is still made.
		wantStatus(t, p.call("bob", http.MethodPost, "/api/v1/dms", map[string]string{"username": "carol"}), http.StatusOK, "")
		wantStatus(t, p.call("alice", http.MethodPost, "/api/v1/dms", map[string]string{"username": "bob"}), http.StatusOK, "")
		if got := counterValue(t, e, "chat_rate_limited_total", "room_create"); got != 1 {
			t.Fatalf("chat_rate_limited_total{scope=room_create} = %v, want 1", got)
		}
	})
}
