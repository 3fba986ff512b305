package ws_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/openapi/apitest"
)

// sendChecked sends the client frame v after checking it against
// docs/frames.json.
func (c *client) sendChecked(v frame) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	apitest.CheckClientFrame(c.t, b)
	c.send(v)
}

// next returns the next frame that is not presence, typing or a message.
func (c *client) next() frame {
	c.t.Helper()
	for {
		f := c.read()
		switch f.str("type") {
		case "presence", "typing", "message":
			continue
		}
		return f
	}
}

// noReceipt fails when a receipt arrives within d.
func (c *client) noReceipt(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		f, err := c.tryRead(time.Until(deadline))
		if err == errTimeout {
			return
		}
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if f.str("type") == "receipt" {
			c.t.Fatalf("got %v, want no receipt", f)
		}
	}
}

// myRoom returns the user's entry for room in GET /api/v1/me/rooms, as the
// store answers it.
func (e *env) myRoom(userID, room string) chat.MyRoom {
	e.t.Helper()
	rooms, err := e.db.MyRooms(context.Background(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range rooms {
		if r.Room.Name == room {
			return r
		}
	}
	e.t.Fatalf("%s is not among the user's rooms", room)
	return chat.MyRoom{}
}

// waitUnread polls the store until the user's unread count in room is
// want, failing after within.
func (e *env) waitUnread(userID, room string, want int64, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := e.myRoom(userID, room)
		if r.Unread == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("unread in %s is %d after %v, want %d (last_read %d)", room, r.Unread, within, want, r.LastRead)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadOverWebSocket checks the read frame end to end on a real store:
// the asking socket gets read with its ref, the user's other socket gets
// it without, another member gets a receipt, an older seq gets nothing,
// the errors, and the stored marker seen by GET /me/rooms within a second.
func TestReadOverWebSocket(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		a1 := e.dialUser("alice")
		a2 := e.dialUser("alice")
		b := e.dialUser("bob")
		aliceID := a1.welcome["user"].(map[string]any)["id"].(string)
		for _, c := range []*client{a1, a2, b} {
			c.join("den", -1)
		}
		for _, text := range []string{"one", "two", "three"} {
			b.sendMsg("den", text)
		}
		e.waitUnread(aliceID, "den", 3, 5*time.Second)

		start := time.Now()
		a1.sendChecked(frame{"type": "read", "room": "Den", "seq": 2, "ref": "r-2"})
		if f := a1.next(); f.str("type") != "read" || f.str("room") != "den" || f.num("seq") != 2 || f.str("ref") != "r-2" {
			t.Fatalf("asking socket got %v, want read at 2 with ref r-2", f)
		}
		if f := a2.next(); f.str("type") != "read" || f.num("seq") != 2 || f["ref"] != nil {
			t.Fatalf("alice's other socket got %v, want read at 2 without a ref", f)
		}
		if f := b.next(); f.str("type") != "receipt" || f.str("user") != "alice" || f.str("user_id") != aliceID || f.num("seq") != 2 {
			t.Fatalf("bob got %v, want alice's receipt at 2", f)
		}
		// Within the contract's second of the read, with half a second more
		// for a loaded test machine.
		e.waitUnread(aliceID, "den", 1, 1500*time.Millisecond-time.Since(start))

		// An older seq changes nothing and sends nothing: the next frame
		// on the asking socket answers the frame after it.
		a1.sendChecked(frame{"type": "read", "room": "den", "seq": 1, "ref": "r-1"})
		a1.sendChecked(frame{"type": "read", "room": "den", "seq": 99, "ref": "r-99"})
		if f := a1.next(); f.str("type") != "error" || f.str("code") != chat.CodeInvalidSince || f.str("ref") != "r-99" || f.str("room") != "den" {
			t.Fatalf("got %v, want invalid_since for r-99 (and nothing for r-1)", f)
		}
		a1.send(frame{"type": "read", "room": "den", "seq": -1, "ref": "r-neg"})
		if f := a1.next(); f.str("code") != chat.CodeBadRequest || f.str("ref") != "r-neg" {
			t.Fatalf("got %v, want bad_request for a negative seq", f)
		}
		a1.sendChecked(frame{"type": "read", "room": "elsewhere", "seq": 1, "ref": "r-nj"})
		if f := a1.next(); f.str("code") != chat.CodeNotJoined || f.str("ref") != "r-nj" {
			t.Fatalf("got %v, want not_joined", f)
		}

		a2.sendChecked(frame{"type": "read", "room": "den", "seq": 3})
		if f := a1.next(); f.str("type") != "read" || f.num("seq") != 3 {
			t.Fatalf("alice's first socket got %v, want read at 3", f)
		}
		if f := a2.next(); f.str("type") != "read" || f.num("seq") != 3 || f["ref"] != nil {
			t.Fatalf("asking socket without a ref got %v", f)
		}
		if f := b.next(); f.str("type") != "receipt" || f.num("seq") != 3 {
			t.Fatalf("bob got %v, want alice's receipt at 3 (a second after the first)", f)
		}
		e.waitUnread(aliceID, "den", 0, 2*time.Second)
		b.noReceipt(1500 * time.Millisecond)
	})
}

// TestReceiptsOffInLargeRooms checks that members of a room above
// ReceiptsMaxMembers get no receipt, while the reader's sockets get read.
func TestReceiptsOffInLargeRooms(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{hub: func(o *hub.Options) { o.ReceiptsMaxMembers = 1 }})
		a := e.dialUser("alice")
		b := e.dialUser("bob")
		a.join("crowd", -1)
		b.join("crowd", -1)
		b.sendMsg("crowd", "hello")
		a.sendChecked(frame{"type": "read", "room": "crowd", "seq": 1, "ref": "r"})
		if f := a.next(); f.str("type") != "read" || f.num("seq") != 1 {
			t.Fatalf("alice got %v, want read at 1", f)
		}
		b.noReceipt(1500 * time.Millisecond)
	})
}
