package hub

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/store/storetest"
)

// sessionHub is a hub whose sockets' sessions are those of a real auth
// service on db. Revocations reach the hub only when revoke is set, as a
// revocation event would; otherwise they are missed, as with the broker
// away. Heartbeats are slow enough not to end the test's quiet sockets.
type sessionHub struct {
	h      *Hub
	db     *store.DB
	tokens *auth.Tokens
	auth   *auth.Service
	revoke bool
}

func newSessionHub(t *testing.T, db *store.DB, revoke bool) *sessionHub {
	t.Helper()
	tokens, err := auth.NewTokens(auth.TokenOptions{Secret: []byte("session-test-secret-session-test-secret"), AccessTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sh := &sessionHub{db: db, tokens: tokens, revoke: revoke}
	sh.auth = auth.NewService(auth.ServiceOptions{
		Store: db, Tokens: tokens, Hasher: auth.NewHasher(1),
		OnRevoke: func(id string) {
			if sh.revoke {
				sh.h.RevokeSession(context.Background(), id)
			}
		},
	})
	sh.h = testHub(t, db, Options{Auth: sh.auth, PingInterval: time.Hour, PongTimeout: time.Hour})
	return sh
}

// login starts a session of user name (made on first use) as a login
// does, without the password's cost.
func (sh *sessionHub) login(t *testing.T, name string) chat.TokenPair {
	t.Helper()
	ctx := context.Background()
	u, _, err := sh.db.UserByName(ctx, name)
	if err != nil {
		if u, err = sh.db.CreateUser(ctx, name, "x"); err != nil {
			t.Fatal(err)
		}
	}
	refresh, hash, err := auth.NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := sh.db.CreateSession(ctx, u.ID, hash, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	access, _, err := sh.tokens.Issue(u, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	return chat.TokenPair{AccessToken: access, RefreshToken: refresh}
}

// open checks the token as the handshake does and registers a socket of it.
func (sh *sessionHub) open(t *testing.T, access string) *fakeSocket {
	t.Helper()
	claims, err := sh.h.Authenticate(context.Background(), access)
	if err != nil {
		t.Fatal(err)
	}
	return sh.attach(t, claims)
}

func (sh *sessionHub) attach(t *testing.T, claims auth.Claims) *fakeSocket {
	t.Helper()
	s := newFakeSocket(64)
	f := &fakeClient{h: sh.h, sock: s, c: sh.h.NewClient(s, claims, false)}
	if !sh.h.Attach(f.c) {
		t.Fatal("attach refused")
	}
	t.Cleanup(f.detach)
	return s
}

func (sh *sessionHub) logout(t *testing.T, p chat.TokenPair) {
	t.Helper()
	if err := sh.auth.Logout(context.Background(), p.RefreshToken); err != nil {
		t.Fatal(err)
	}
}

// TestSessionRevokedBeforeAttach checks that a socket whose token was
// checked just before its session was revoked, and that registers after
// the revocation closed the session's sockets, is closed with 4003.
func TestSessionRevokedBeforeAttach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sh := newSessionHub(t, storetest.Open(t, "sqlite"), true)
		p := sh.login(t, "late")
		claims, err := sh.h.Authenticate(context.Background(), p.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		sh.logout(t, p) // finds no socket of the session to close
		s := sh.attach(t, claims)
		synctest.Wait()
		if got := s.closeCode(); got != chat.CloseSessionRevoked.Code {
			t.Fatalf("socket registered after its session's revocation closed with %d, want %d", got, chat.CloseSessionRevoked.Code)
		}
	})
}

// TestSessionRecheckedPeriodically checks that a socket whose session was
// revoked without the hub hearing of it is closed with 4003 within
// recheckEvery, and that the sockets of active sessions stay open.
func TestSessionRecheckedPeriodically(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sh := newSessionHub(t, storetest.Open(t, "sqlite"), false)
		var pairs []chat.TokenPair
		var socks []*fakeSocket
		for range 40 {
			p := sh.login(t, "many")
			pairs = append(pairs, p)
			socks = append(socks, sh.open(t, p.AccessToken))
		}
		synctest.Wait()
		gone := map[int]bool{3: true, 17: true, 38: true}
		for i := range gone {
			sh.logout(t, pairs[i])
		}
		start := time.Now()
		for time.Since(start) < recheckEvery+time.Second {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
		}
		for i, s := range socks {
			want := 0
			if gone[i] {
				want = chat.CloseSessionRevoked.Code
			}
			if got := s.closeCode(); got != want {
				t.Errorf("socket %d (session revoked: %v) closed with %d, want %d", i, gone[i], got, want)
			}
		}
	})
}

// TestSessionRecheckedOnResync checks that a broker resync closes the
// sockets of sessions revoked while the broker was away, at once.
func TestSessionRecheckedOnResync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sh := newSessionHub(t, storetest.Open(t, "sqlite"), false)
		kept, gone := sh.login(t, "resync"), sh.login(t, "resync")
		ks, gs := sh.open(t, kept.AccessToken), sh.open(t, gone.AccessToken)
		synctest.Wait()
		sh.logout(t, gone)
		sh.h.HandleEvent(chat.Event{Kind: chat.EventResync})
		synctest.Wait()
		if got := gs.closeCode(); got != chat.CloseSessionRevoked.Code {
			t.Fatalf("socket of a session revoked while the broker was away closed with %d after the resync, want %d", got, chat.CloseSessionRevoked.Code)
		}
		if got := ks.closeCode(); got != 0 {
			t.Fatalf("socket of an active session closed with %d", got)
		}
	})
}
