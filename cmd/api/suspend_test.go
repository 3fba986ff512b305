package main

import (
	"net/http"
	"testing"
	"time"
)

// TestClusterSuspension suspends a user on one node and checks that their
// sockets on the other nodes close with 4003 within a second, that no node
// lets the session's token in again, and that login answers
// account_suspended.
func TestClusterSuspension(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	env := c.with(map[string]string{"CHAT_ADMINS": "root"})
	a, b := startRun(t, env), startRun(t, env)
	root := signUp(t, a, "root")
	bob := signUp(t, a, "bob")
	pb := connectPeer(t, b.url, bob)
	pb.join("lobby", -1)

	start := time.Now()
	if code, body := a.call(t, http.MethodPost, "/api/v1/admin/users/bob/suspend", map[string]string{"reason": "spam"}, root.access); code != http.StatusNoContent {
		t.Fatalf("suspend: %d %s", code, body)
	}
	pb.waitFor(2*time.Second, "close", func() bool { return pb.closeCode != 0 })
	if pb.code() != 4003 {
		t.Errorf("socket closed with %d, want 4003", pb.code())
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("socket closed %v after the suspension, want within 1s", d)
	}
	for _, n := range []*service{a, b} {
		if code, _ := n.call(t, http.MethodGet, "/api/v1/me", nil, bob.access); code != http.StatusUnauthorized {
			t.Errorf("%s: /me with a suspended user's token: %d, want 401", n.url, code)
		}
	}
	creds := map[string]string{"username": "bob", "password": "correct horse battery"}
	if code, body := b.call(t, http.MethodPost, "/api/v1/auth/login", creds, ""); code != http.StatusForbidden {
		t.Fatalf("login while suspended: %d %s, want 403", code, body)
	}
	if code, body := b.call(t, http.MethodPost, "/api/v1/admin/users/bob/suspend", nil, bob.access); code != http.StatusUnauthorized {
		t.Fatalf("a revoked token suspends: %d %s", code, body)
	}
}
