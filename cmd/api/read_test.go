package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// myRoomState is what GET /api/v1/me/rooms says of one room.
type myRoomState struct {
	LastRead int64
	Unread   int64
}

// myRooms returns the caller's read state by room from GET /api/v1/me/rooms.
func myRooms(t *testing.T, s *service, token string) map[string]myRoomState {
	t.Helper()
	code, body := s.call(t, http.MethodGet, "/api/v1/me/rooms", nil, token)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/me/rooms: %d %s", code, body)
	}
	var resp struct {
		Rooms []struct {
			Room struct {
				Name string `json:"name"`
			} `json:"room"`
			LastRead int64 `json:"last_read"`
			Unread   int64 `json:"unread"`
		} `json:"rooms"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]myRoomState, len(resp.Rooms))
	for _, r := range resp.Rooms {
		out[r.Room.Name] = myRoomState{LastRead: r.LastRead, Unread: r.Unread}
	}
	return out
}

// waitMyRoom polls GET /api/v1/me/rooms on s until room reads want,
// failing at deadline.
func waitMyRoom(t *testing.T, s *service, token, room string, want myRoomState, deadline time.Time) {
	t.Helper()
	for {
		got := myRooms(t, s, token)[room]
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/v1/me/rooms: %s is %+v, want %+v", room, got, want)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestClusterRead checks a read on one node: the asking socket gets read
// with its ref, the same user's socket on the other node gets read, the
// other member there gets a receipt, and GET /api/v1/me/rooms on the other
// node shows the marker within a second.
func TestClusterRead(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	a, b := startRun(t, c.env), startRun(t, c.env)
	alice, bob := signUp(t, a, "alice"), signUp(t, b, "bob")
	onA, onB, bobB := connectPeer(t, a.url, alice), connectPeer(t, b.url, alice), connectPeer(t, b.url, bob)
	for _, p := range []*peer{onA, onB, bobB} {
		p.join("notes", -1)
	}
	var last int64
	for i := range 3 {
		last = bobB.mustSend(t, "notes", fmt.Sprint("n", i), fmt.Sprint("note ", i), 10*time.Second)
	}
	waitMyRoom(t, b, alice.access, "notes", myRoomState{LastRead: 0, Unread: 3}, time.Now().Add(10*time.Second))
	onA.waitFor(10*time.Second, "the messages", func() bool { return len(onA.msgs["notes"]) == 3 })

	start := time.Now()
	if err := onA.write(map[string]any{"type": "read", "room": "notes", "seq": last, "ref": "rd"}); err != nil {
		t.Fatal(err)
	}
	onA.other(5*time.Second, "read with ref", func(f frame) bool { return f.Type == "read" && f.Ref == "rd" && f.Seq == last })
	onB.other(5*time.Second, "read from node a", func(f frame) bool { return f.Type == "read" && f.Room == "notes" && f.Seq == last && f.Ref == "" })
	bobB.other(5*time.Second, "alice's receipt", func(f frame) bool { return f.Type == "receipt" && f.User == "alice" && f.Seq == last })
	// Within the contract's second, with half a second more for a loaded
	// test machine.
	waitMyRoom(t, b, alice.access, "notes", myRoomState{LastRead: last, Unread: 0}, start.Add(1500*time.Millisecond))
	if d := time.Since(start); d > time.Second {
		t.Logf("the read showed in GET /api/v1/me/rooms after %v", d)
	}
}

// TestRunReceiptsLimit checks that CHAT_RECEIPTS_MAX_MEMBERS reaches the
// hub: with a limit of 1 a room of two members gets no receipt, while the
// reader's socket still gets read.
func TestRunReceiptsLimit(t *testing.T) {
	s := startRun(t, map[string]string{"CHAT_RECEIPTS_MAX_MEMBERS": "1"})
	s.waitHealthy(t)
	alice, bob := signUp(t, s, "alice"), signUp(t, s, "bob")
	pa, pb := connectPeer(t, s.url, alice), connectPeer(t, s.url, bob)
	pa.join("pair", -1)
	pb.join("pair", -1)
	seq := pb.mustSend(t, "pair", "p1", "hello", 10*time.Second)
	if err := pa.write(map[string]any{"type": "read", "room": "pair", "seq": seq, "ref": "rd"}); err != nil {
		t.Fatal(err)
	}
	pa.other(5*time.Second, "read", func(f frame) bool { return f.Type == "read" && f.Ref == "rd" })
	// A receipt would follow the read at once; give it a generous moment.
	time.Sleep(time.Second)
	pb.mu.Lock()
	defer pb.mu.Unlock()
	for _, f := range pb.others {
		if f.Type == "receipt" {
			t.Fatalf("bob got %+v in a room over CHAT_RECEIPTS_MAX_MEMBERS", f)
		}
	}
}
