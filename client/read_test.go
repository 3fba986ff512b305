package client_test

import (
	"testing"
	"time"

	"github.com/chatsvc/chat/client"
	"github.com/chatsvc/chat/internal/servertest"
)

// TestSocketReadMarkers checks MarkRead against a real server: the marker
// reaches every socket of the user as a *Read, the other member as a
// *Receipt, and the room list's unread count.
func TestSocketReadMarkers(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, nil)
	alice := login(t, srv.URL, "alice")
	a1, a2 := startSocket(t, alice), startSocket(t, alice)
	bob := startSocket(t, login(t, srv.URL, "bob"))
	for _, s := range []*running{a1, a2, bob} {
		s.Join("den", -1)
		s.joined(t, "den")
	}
	var last int64
	for _, text := range []string{"one", "two", "three"} {
		ack, err := bob.Send(ctx(t), "den", text)
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Seq
	}
	msgs := a1.messages(t, "den", 3)

	// Every message shown is marked read, as a client does; the socket
	// sends the newest at most once a second.
	for _, m := range msgs {
		a1.MarkRead("den", m.Seq)
	}
	for _, s := range []*running{a1, a2} {
		s.next(t, func(ev client.Event) bool {
			r, ok := ev.(*client.Read)
			return ok && r.Room == "den" && r.Seq == last
		})
	}
	rc := bob.next(t, func(ev client.Event) bool {
		r, ok := ev.(*client.Receipt)
		return ok && r.Seq == last
	}).(*client.Receipt)
	if rc.Room != "den" || rc.User != "alice" || rc.UserID == "" {
		t.Errorf("bob's receipt %+v, want alice's in den", rc)
	}

	deadline := time.Now().Add(wait)
	for {
		rooms, err := alice.MyRooms(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		var den *client.MyRoom
		for i := range rooms {
			if rooms[i].Room.Name == "den" {
				den = &rooms[i]
			}
		}
		if den != nil && den.Unread == 0 && den.LastRead == last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's den in her rooms: %+v, want read up to %d", den, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
