package client_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

// result waits for a command's result.
func result(t testing.TB, ch <-chan client.Result) client.Result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(wait):
		t.Fatal("the command was never answered")
		return client.Result{}
	}
}

// stored returns the texts of room's messages, read over REST by c.
func stored(t testing.TB, c *client.Client, room string) map[string]bool {
	t.Helper()
	msgs, err := c.History(ctx(t), room, 0, 0, 10000)
	if err != nil {
		t.Fatalf("history of #%s: %v", room, err)
	}
	out := map[string]bool{}
	for _, m := range msgs {
		out[m.Text] = true
	}
	return out
}

// TestSocketSendOutcomeWhenRemoved takes alice out of a room, in each way
// the contract has, while her socket sends to it back to back: a send in
// flight at that moment may be stored before or after the removal and its
// answer may come after the left frame. Every result must agree with what
// the server stored: an ack for each stored text, a failure only for texts
// not stored, and never an unknown outcome, since the socket stays up and
// the server answers every frame.
func TestSocketSendOutcomeWhenRemoved(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, map[string]string{
		"CHAT_RATE_MSGS": "10000", "CHAT_RATE_BURST": "10000", "CHAT_ROOM_CREATE_RATE": "0",
	})
	alice, bob := login(t, srv.URL, "alice"), login(t, srv.URL, "bob")
	s := startSocket(t, alice)
	tests := []struct {
		name   string
		remove func(room string) error
	}{
		{"kicked", func(room string) error { return bob.Kick(ctx(t), room, "alice", "") }},
		{"banned", func(room string) error { return bob.Ban(ctx(t), room, "alice", "") }},
		{"left over REST", func(room string) error { return alice.LeaveRoom(ctx(t), room) }},
	}
	// cycles gives the removal several chances to land while a send is in
	// flight; each cycle takes a fraction of a second.
	const cycles = 10
	for _, tt := range tests {
		for i := range cycles {
			room := fmt.Sprintf("%s-%d", tt.name[:4], i)
			if _, err := bob.CreateRoom(ctx(t), room, client.KindPublic, ""); err != nil {
				t.Fatal(err)
			}
			s.Join(room, -1)
			s.joined(t, room)

			type sent struct {
				text string
				res  client.Result
			}
			done := make(chan []sent, 1)
			firstAck := make(chan struct{})
			go func() {
				var out []sent
				for j := 0; ; j++ {
					text := fmt.Sprintf("%s %d", room, j)
					r := <-s.SendAsync(room, text)
					out = append(out, sent{text, r})
					if j == 0 {
						close(firstAck)
					}
					if r.Err != nil || j == 5000 {
						done <- out
						return
					}
				}
			}()
			<-firstAck
			time.Sleep(time.Duration(rand.N(3000)) * time.Microsecond)
			if err := tt.remove(room); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var results []sent
			select {
			case results = <-done:
			case <-time.After(wait):
				t.Fatalf("%s: the sends never stopped", room)
			}
			have := stored(t, bob, room)
			for _, r := range results {
				switch {
				case r.res.Err == nil && !have[r.text]:
					t.Errorf("%s: %q acked at seq %d but not stored", tt.name, r.text, r.res.Ack.Seq)
				case errors.Is(r.res.Err, client.ErrOutcomeUnknown):
					t.Errorf("%s: %q: %v; the socket stayed up, so its answer came", tt.name, r.text, r.res.Err)
				case r.res.Err != nil && have[r.text]:
					t.Errorf("%s: %q reported failed (%v) but stored", tt.name, r.text, r.res.Err)
				}
			}
		}
	}
}

// TestSocketOutcomeOfLostAnswers sends while the server's answers cannot
// reach the client, so the server stores the text but its ack is lost;
// then the outcome cannot be known, and the result says so instead of
// reporting a failure.
func TestSocketOutcomeOfLostAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// then, after the lost ack, makes the answer impossible to get.
		then func(t *testing.T, px *servertest.Proxy, bob *client.Client, s *running)
		// closed tells that Run ended: the error is also ErrClosed.
		closed bool
	}{
		{"kicked before the reconnect", func(t *testing.T, px *servertest.Proxy, bob *client.Client, s *running) {
			if err := bob.Kick(ctx(t), "ops", "alice", ""); err != nil {
				t.Fatal(err)
			}
			// The connection drops; the socket comes back and cannot rejoin
			// the private room it was kicked from.
			px.Block()
			px.Cut()
			px.Mute(false)
			px.Unblock()
		}, false},
		{"Run ends", func(t *testing.T, _ *servertest.Proxy, _ *client.Client, s *running) {
			s.cancel()
			s.stopped(t)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, nil)
			px := servertest.StartProxy(t, srv.Addr)
			alice, bob := login(t, px.URL(), "alice"), login(t, srv.URL, "bob")
			if _, err := bob.CreateRoom(ctx(t), "ops", client.KindPrivate, ""); err != nil {
				t.Fatal(err)
			}
			if err := bob.Invite(ctx(t), "ops", "alice", ""); err != nil {
				t.Fatal(err)
			}
			bs := startSocket(t, bob)
			bs.Join("ops", -1)
			bs.joined(t, "ops")
			s := startSocket(t, alice)
			s.Join("ops", -1)
			s.joined(t, "ops")

			px.Mute(true)
			ch := s.SendAsync("ops", "stored, ack lost")
			if m := bs.messages(t, "ops", 1)[0]; m.Text != "stored, ack lost" {
				t.Fatalf("bob got %q", m.Text)
			}
			tt.then(t, px, bob, s)
			r := result(t, ch)
			if !errors.Is(r.Err, client.ErrOutcomeUnknown) || errors.Is(r.Err, client.ErrClosed) != tt.closed {
				t.Errorf("result %+v, want ErrOutcomeUnknown (ErrClosed too: %v)", r, tt.closed)
			}
			var fe *client.FrameError
			if errors.As(r.Err, &fe) || errors.Is(r.Err, client.ErrNotInRoom) {
				t.Errorf("result %v reads as a refusal", r.Err)
			}
		})
	}
}
