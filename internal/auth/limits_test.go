package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
)

func TestAddrKey(t *testing.T) {
	tests := []struct {
		ip   string
		bits int
		want string
	}{
		{"198.51.100.7", 64, "198.51.100.7"},
		{"::ffff:198.51.100.7", 64, "198.51.100.7"},
		{"2001:db8:1:2:aaaa::1", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::9", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2ff:bbbb::9", 56, "2001:db8:1:200::/56"},
		{"fe80::1%eth0", 64, "fe80::/64"},
		{"not an address", 64, "not an address"},
	}
	for _, tt := range tests {
		if got := addrKey(tt.ip, tt.bits); got != tt.want {
			t.Errorf("addrKey(%q, %d) = %q, want %q", tt.ip, tt.bits, got, tt.want)
		}
	}
}

// TestLoginThrottleIPv6Prefix checks that addresses of one IPv6 /64 share
// the per-username-and-address limit, and one /56 the registration limit.
func TestLoginThrottleIPv6Prefix(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.LoginThrottle = NewMemThrottle(Rate{N: 5, Per: time.Minute}, clk.Now)
		o.RegisterThrottle = NewMemThrottle(Rate{N: 2, Per: time.Minute}, clk.Now)
	})
	ctx := t.Context()
	e.register(t, "alice")
	var throttled int
	for i := range 12 {
		ip := fmt.Sprintf("2001:db8:0:1:%x::1", i+1)
		_, _, err := e.svc.Login(ctx, "alice", "wrong password", ip)
		if chat.ErrorCode(err) == chat.CodeTooManyAttempts {
			throttled++
		}
	}
	if throttled != 7 {
		t.Fatalf("%d of 12 guesses from one /64 throttled, want 7", throttled)
	}
	_, _, err := e.svc.Login(ctx, "alice", testPassword, "2001:db8:0:1:ffff::1")
	wantCode(t, "right password from the same /64", err, chat.CodeTooManyAttempts)
	if _, _, err := e.svc.Login(ctx, "alice", testPassword, "2001:db8:0:2::1"); err != nil {
		t.Fatalf("from another /64: %v", err)
	}

	for i, want := range []string{"", "", chat.CodeTooManyAttempts} {
		_, err := e.svc.Register(ctx, fmt.Sprintf("user%d", i), testPassword, fmt.Sprintf("2001:db8:0:%x::1", 0x10+i))
		wantCode(t, "registration from one /56", err, want)
	}
}

// TestLoginThrottleConcurrent checks that concurrent wrong logins cannot
// all pass the check before any of them is counted.
func TestLoginThrottleConcurrent(t *testing.T) {
	const limit, tries = 3, 20
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.LoginThrottle = NewMemThrottle(Rate{N: limit, Per: time.Minute}, clk.Now)
	})
	e.register(t, "alice")
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
	)
	for range tries {
		wg.Go(func() {
			_, _, err := e.svc.Login(t.Context(), "alice", "wrong password", testIP)
			mu.Lock()
			counts[chat.ErrorCode(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[chat.CodeInvalidCredentials] != limit || counts[chat.CodeTooManyAttempts] != tries-limit {
		t.Fatalf("answers %v, want %d invalid_credentials and the rest too_many_attempts", counts, limit)
	}
}

// TestLoginUserThrottle checks the limit per username across addresses, and
// that it ends with its window.
func TestLoginUserThrottle(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.LoginUserThrottle = NewMemThrottle(Rate{N: 4, Per: time.Minute}, clk.Now)
	})
	ctx := t.Context()
	e.register(t, "alice")
	e.register(t, "bob")
	for i := range 4 {
		_, _, err := e.svc.Login(ctx, "alice", "wrong password", fmt.Sprintf("203.0.113.%d", i+1))
		wantCode(t, "guess", err, chat.CodeInvalidCredentials)
	}
	_, _, err := e.svc.Login(ctx, "alice", testPassword, "192.0.2.1")
	wantCode(t, "right password from a fresh address", err, chat.CodeTooManyAttempts)
	if _, _, err := e.svc.Login(ctx, "bob", testPassword, "203.0.113.1"); err != nil {
		t.Fatalf("another username: %v", err)
	}
	e.clk.Advance(time.Minute)
	if _, _, err := e.svc.Login(ctx, "alice", testPassword, "192.0.2.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestRefreshThrottles checks the per-address and per-session limits of
// refresh and logout.
func TestRefreshThrottles(t *testing.T) {
	e := newEnv(t, store.DialectSQLite, func(o *ServiceOptions, clk *syncClock) {
		o.RefreshThrottle = NewMemThrottle(Rate{N: 3, Per: time.Minute}, clk.Now)
		o.RefreshSessionThrottle = NewMemThrottle(Rate{N: 2, Per: time.Minute}, clk.Now)
	})
	ctx := t.Context()
	e.register(t, "alice")
	p := e.login(t, "alice")
	for i, want := range []string{"", "", chat.CodeTooManyAttempts} {
		next, err := e.svc.RefreshFrom(ctx, p.RefreshToken, fmt.Sprintf("198.51.100.%d", i+1))
		wantCode(t, fmt.Sprintf("refresh %d of one session", i+1), err, want)
		if err == nil {
			p = next
		}
	}
	err := e.svc.LogoutFrom(ctx, p.RefreshToken, "198.51.100.9")
	wantCode(t, "logout of the same session", err, chat.CodeTooManyAttempts)

	for i, want := range []string{chat.CodeInvalidToken, chat.CodeInvalidToken, chat.CodeInvalidToken, chat.CodeTooManyAttempts} {
		_, err := e.svc.RefreshFrom(ctx, fmt.Sprintf("unknown-token-%d", i), "2001:db8::1")
		wantCode(t, "unknown tokens from one address", err, want)
	}
}
