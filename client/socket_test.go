package client_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

// texts returns the texts of msgs.
func texts(msgs []*client.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.From+": "+m.Text)
	}
	return out
}

func TestSocketSendAndReceive(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := startSocket(t, login(t, srv.URL, "alice"))
	bob := startSocket(t, login(t, srv.URL, "bob"))
	// Bob joins once alice is in, so that his joined lists her.
	alice.Join("general", -1)
	alice.joined(t, "general")
	bob.Join("general", -1)
	if j := bob.joined(t, "general"); !slices.Contains(j.Members, "alice") {
		t.Errorf("bob's joined lists %v, want alice in it", j.Members)
	}

	// Commands are carried out in the order made, each acked once.
	var results []<-chan client.Result
	for i := range 25 { // past the server's burst of 20 frames
		results = append(results, alice.SendAsync("general", fmt.Sprintf("m%02d", i)))
	}
	var want []string
	for i, ch := range results {
		r := <-ch
		if r.Err != nil || r.Ack.Seq != int64(i+1) {
			t.Fatalf("send %d: %+v", i, r)
		}
		want = append(want, fmt.Sprintf("alice: m%02d", i))
	}
	if got := texts(bob.messages(t, "general", 25)); !slices.Equal(got, want) {
		t.Errorf("bob got %q, want %q", got, want)
	}
	if got := texts(alice.messages(t, "general", 25)); !slices.Equal(got, want) {
		t.Errorf("alice got %q, want %q", got, want)
	}

	// A refused send is a *FrameError with the contract's code.
	_, err := alice.Send(ctx(t), "general", "   ")
	var fe *client.FrameError
	if !errors.As(err, &fe) || !errors.Is(err, client.CodeTextEmpty) {
		t.Errorf("blank send: %v, want text_empty", err)
	}
	// A send for a room never joined fails without reaching the server.
	if _, err := alice.Send(ctx(t), "elsewhere", "hi"); !errors.Is(err, client.ErrNotInRoom) {
		t.Errorf("send to a room not joined: %v, want ErrNotInRoom", err)
	}
}

func TestSocketResumesAfterRestart(t *testing.T) {
	t.Parallel()
	// A replay limit of 3 makes the gap of 6 truncated: the socket pages
	// the rest over REST.
	srv := servertest.Start(t, map[string]string{"CHAT_WS_REPLAY_LIMIT": "3"})
	px := servertest.StartProxy(t, srv.Addr)
	alice := startSocket(t, login(t, px.URL(), "alice"))
	bobC := login(t, srv.URL, "bob")
	alice.Join("general", -1)
	alice.joined(t, "general")
	bob := startSocket(t, bobC)
	bob.Join("general", -1)
	bob.joined(t, "general")
	if _, err := bob.Send(ctx(t), "general", "b1"); err != nil {
		t.Fatal(err)
	}
	alice.messages(t, "general", 1)

	// The network drops alice (1006) and she resumes with since.
	px.Block()
	px.Cut()
	waitState(t, alice, client.Disconnected, 1006)
	if _, err := bob.Send(ctx(t), "general", "b2"); err != nil {
		t.Fatal(err)
	}
	px.Unblock()
	if m := alice.messages(t, "general", 1); m[0].Text != "b2" || m[0].FromHistory {
		t.Errorf("after the cut alice got %+v, want b2 replayed", m[0])
	}

	// The server restarts (1001) while alice cannot reach it; bob sends
	// more than the replay limit before she is back.
	px.Block()
	srv.Restart()
	waitState(t, alice, client.Disconnected, 1001)
	for i := 3; i <= 8; i++ {
		if _, err := bob.Send(ctx(t), "general", fmt.Sprintf("b%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	px.Unblock()
	got := alice.messages(t, "general", 6)
	want := []string{"bob: b3", "bob: b4", "bob: b5", "bob: b6", "bob: b7", "bob: b8"}
	if !slices.Equal(texts(got), want) {
		t.Fatalf("alice got %q after the restart, want %q", texts(got), want)
	}
	for i, m := range got {
		if paged := i < 3; m.FromHistory != paged {
			t.Errorf("message %s: FromHistory = %v, want %v", m.Text, m.FromHistory, paged)
		}
		if m.Seq != int64(i+3) {
			t.Errorf("message %s at seq %d, want %d", m.Text, m.Seq, i+3)
		}
	}
	// Live again, nothing twice.
	if _, err := alice.Send(ctx(t), "general", "a9"); err != nil {
		t.Fatal(err)
	}
	if m := alice.messages(t, "general", 1); m[0].Text != "a9" || m[0].Seq != 9 {
		t.Errorf("next message %+v, want a9 at seq 9", m[0])
	}
}

// waitState waits for a StateChange to state with code (0: any).
func waitState(t testing.TB, r *running, state client.State, code int) *client.StateChange {
	t.Helper()
	return r.next(t, func(ev client.Event) bool {
		sc, ok := ev.(*client.StateChange)
		return ok && sc.State == state && (code == 0 || sc.Code == code)
	}).(*client.StateChange)
}

func TestSocketRefreshesTokens(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, map[string]string{"CHAT_ACCESS_TTL": "3s", "CHAT_JWT_LEEWAY": "0s"})
	saved := make(chan client.Tokens, 100)
	c, err := client.New(srv.URL, client.Options{OnTokens: func(tk client.Tokens) { saved <- tk }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx(t), "alice", "password-of-alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx(t), "alice", "password-of-alice"); err != nil {
		t.Fatal(err)
	}
	first := <-saved
	// A stored access token the server refuses: the handshake gets 401,
	// the socket asks the REST API, which refreshes it.
	c.SetTokens(client.Tokens{Access: "not-a-token", Refresh: first.Refresh, Expiry: time.Now().Add(time.Hour)})
	s := startSocket(t, c)
	s.Join("general", -1)
	s.joined(t, "general")

	// Four refreshes, well past the first token's expiry: the socket gets each
	// new token by an auth frame and is never closed with 4001.
	for i := range 4 {
		select {
		case <-saved:
		case <-time.After(wait):
			t.Fatalf("refresh %d did not happen", i+1)
		}
	}
	if _, err := s.Send(ctx(t), "general", "still here"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case ev := <-s.events:
			if sc, ok := ev.(*client.StateChange); ok && sc.State == client.Disconnected {
				t.Fatalf("the socket was disconnected: %+v", sc)
			}
			continue
		default:
		}
		break
	}
	if c.Tokens().Refresh == first.Refresh {
		t.Error("the refresh token was never rotated")
	}
}

func TestSocketStopsOnRevokedSession(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	c := login(t, srv.URL, "alice")
	s := startSocket(t, c)
	s.Join("general", -1)
	s.joined(t, "general")
	// Another client of the same session logs out: 4003.
	other, err := client.New(srv.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other.SetTokens(c.Tokens())
	if err := other.Logout(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.stopped(t); !errors.Is(err, client.ErrSessionRevoked) {
		t.Fatalf("Run returned %v, want ErrSessionRevoked", err)
	}
	if _, err := s.Send(ctx(t), "general", "late"); !errors.Is(err, client.ErrClosed) {
		t.Errorf("send after the stop: %v, want ErrClosed", err)
	}
	if err := s.Run(ctx(t)); !errors.Is(err, client.ErrRunning) {
		t.Errorf("a second Run: %v, want ErrRunning", err)
	}
}

func TestSocketReconnectsAfterTokenExpiry(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, map[string]string{"CHAT_ACCESS_TTL": "2s", "CHAT_JWT_LEEWAY": "0s"})
	c := login(t, srv.URL, "alice")
	// The client believes its token lives an hour, so it does not refresh
	// ahead: the server closes the socket with 4001, and the socket
	// refreshes and comes back at once.
	tk := c.Tokens()
	tk.Expiry = time.Now().Add(time.Hour)
	c.SetTokens(tk)
	s := startSocket(t, c)
	s.Join("general", -1)
	s.joined(t, "general")
	waitState(t, s, client.Disconnected, 4001)
	waitState(t, s, client.Connected, 0)
	s.joined(t, "general")
	if c.Tokens().Refresh == tk.Refresh {
		t.Error("the token was not refreshed after 4001")
	}
	if _, err := s.Send(ctx(t), "general", "back"); err != nil {
		t.Fatal(err)
	}
}

func TestSocketJoinRefused(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, map[string]string{"CHAT_WS_MAX_ROOMS_PER_CONN": "1"})
	s := startSocket(t, login(t, srv.URL, "alice"))
	s.Join("general", -1)
	s.joined(t, "general")
	s.Join("second", -1)
	ev := s.next(t, func(ev client.Event) bool { _, ok := ev.(*client.FrameError); return ok })
	if fe := ev.(*client.FrameError); fe.Room != "second" || !errors.Is(fe, client.CodeTooManyRooms) {
		t.Fatalf("got %+v, want too_many_rooms for #second", fe)
	}
	if _, err := s.Send(ctx(t), "second", "hi"); !errors.Is(err, client.ErrNotInRoom) {
		t.Errorf("send to the refused room: %v, want ErrNotInRoom", err)
	}
	// Leaving frees the place.
	s.Leave("general")
	s.next(t, func(ev client.Event) bool { l, ok := ev.(*client.Left); return ok && l.Room == "general" })
	s.Join("second", 0)
	s.joined(t, "second")
	if ack, err := s.Send(ctx(t), "second", "hi"); err != nil || ack.Seq != 1 {
		t.Errorf("send after the join: %+v, %v", ack, err)
	}
}
