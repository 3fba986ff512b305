package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/store/storetest"
)

// TestRoomsLive checks that sockets follow the room model of the REST API
// on one node: a stranger cannot join a private room, an invitation
// reaches the invitee's socket and the room's stream, a kick takes the
// kicked user's socket out of the room at once, a deleted room empties,
// and rooms made by joins count against CHAT_ROOM_CREATE_RATE.
func TestRoomsLive(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			s := startRun(t, map[string]string{"CHAT_DB_URL": storetest.URL(t, dialect), "CHAT_ROOM_CREATE_RATE": "2/1h"})
			s.waitHealthy(t)
			owner, bob, eve := signUp(t, s, "owner"), signUp(t, s, "bob"), signUp(t, s, "eve")
			mustCall(t, s, http.MethodPost, "/api/v1/rooms", map[string]string{"name": "team", "kind": "private"}, owner.access, http.StatusCreated)
			po, pb, pe := connectPeer(t, s.url, owner), connectPeer(t, s.url, bob), connectPeer(t, s.url, eve)
			po.join("team", 0)

			expectError(t, pe, "team", "room_not_found")

			mustCall(t, s, http.MethodPost, "/api/v1/rooms/team/invite", map[string]string{"username": "bob"}, owner.access, http.StatusNoContent)
			pb.other(time.Second, "invited", func(f frame) bool { return f.Type == "invited" && f.Room == "team" && f.By == "owner" })
			po.other(time.Second, "member invited", func(f frame) bool { return f.Type == "member" && f.Change == "invited" && f.User == "bob" })

			pb.join("team", -1)
			po.other(time.Second, "member joined", func(f frame) bool { return f.Type == "member" && f.Change == "joined" && f.User == "bob" })

			mustCall(t, s, http.MethodPost, "/api/v1/rooms/team/kick", map[string]string{"username": "bob", "reason": "off topic"}, owner.access, http.StatusNoContent)
			pb.other(time.Second, "left kicked", func(f frame) bool { return f.Type == "left" && f.Room == "team" && f.Reason == "kicked" })
			po.other(time.Second, "member kicked", func(f frame) bool { return f.Type == "member" && f.Change == "kicked" && f.By == "owner" })
			if err := pb.write(map[string]any{"type": "send", "room": "team", "text": "still here?", "ref": "s1"}); err != nil {
				t.Fatal(err)
			}
			pb.other(time.Second, "not_joined", func(f frame) bool { return f.Type == "error" && f.Ref == "s1" && f.Code == "not_joined" })

			mustCall(t, s, http.MethodDelete, "/api/v1/rooms/team", nil, owner.access, http.StatusNoContent)
			po.other(time.Second, "left room_deleted", func(f frame) bool { return f.Type == "left" && f.Room == "team" && f.Reason == "room_deleted" })

			pe.join("one", -1)
			pe.join("two", -1)
			expectError(t, pe, "three", "rate_limited")
			pe.join("general", -1) // an existing room is not a creation
		})
	}
}

// mustCall sends a request and fails the test unless it gets want.
func mustCall(t *testing.T, s *service, method, path string, body any, token string, want int) {
	t.Helper()
	if code, got := s.call(t, method, path, body, token); code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, got, want)
	}
}

// expectError sends a join of room and waits for the error code.
func expectError(t *testing.T, p *peer, room, code string) {
	t.Helper()
	ref := "e-" + room
	if err := p.write(map[string]any{"type": "join", "room": room, "ref": ref}); err != nil {
		t.Fatal(err)
	}
	p.other(time.Second, code, func(f frame) bool { return f.Type == "error" && f.Ref == ref && f.Code == code })
}

// TestEditDeleteLive checks edit and delete frames: the author's change is
// acknowledged and reaches every socket in the room in seq order, others'
// changes are refused, and a replay shows the message's current state.
func TestEditDeleteLive(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			s := startRun(t, map[string]string{"CHAT_DB_URL": storetest.URL(t, dialect)})
			s.waitHealthy(t)
			alice, bob := signUp(t, s, "alice"), signUp(t, s, "bob")
			pa, pb := connectPeer(t, s.url, alice), connectPeer(t, s.url, bob)
			pa.join("den", -1)
			pb.join("den", -1)
			seq := pa.mustSend(t, "den", "m1", "frist post", 5*time.Second)
			change := func(p *peer, cmd map[string]any) frame {
				t.Helper()
				if err := p.write(cmd); err != nil {
					t.Fatal(err)
				}
				ref := cmd["ref"].(string)
				return p.other(2*time.Second, "answer to "+ref, func(f frame) bool { return f.Ref == ref && (f.Type == "ack" || f.Type == "error") })
			}
			if f := change(pb, map[string]any{"type": "edit", "room": "den", "seq": seq, "text": "mine now", "ref": "b-edit"}); f.Code != "forbidden" {
				t.Errorf("bob edits alice's message: %+v, want forbidden", f)
			}
			if f := change(pb, map[string]any{"type": "delete", "room": "den", "seq": seq, "ref": "b-del"}); f.Code != "forbidden" {
				t.Errorf("bob deletes alice's message: %+v, want forbidden", f)
			}
			if f := change(pa, map[string]any{"type": "edit", "room": "den", "seq": seq, "text": "first post", "ref": "a-edit"}); f.Type != "ack" || f.Seq != seq+1 {
				t.Fatalf("alice's edit: %+v, want ack with seq %d", f, seq+1)
			}
			pb.other(2*time.Second, "edit", func(f frame) bool { return f.Type == "edit" && f.Seq == seq+1 && f.Text == "first post" })
			if f := change(pa, map[string]any{"type": "delete", "room": "den", "seq": seq, "ref": "a-del"}); f.Type != "ack" || f.Seq != seq+2 {
				t.Fatalf("alice's delete: %+v, want ack with seq %d", f, seq+2)
			}
			pb.other(2*time.Second, "delete", func(f frame) bool { return f.Type == "delete" && f.Seq == seq+2 && f.By == "alice" })
			if f := change(pa, map[string]any{"type": "edit", "room": "den", "seq": seq, "text": "again", "ref": "a-edit2"}); f.Code != "message_not_found" {
				t.Errorf("edit of a deleted message: %+v, want message_not_found", f)
			}
			seq2, err := pa.sendAcked("den", "m2", "secnod", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if f := change(pa, map[string]any{"type": "edit", "room": "den", "seq": seq2, "text": "second", "ref": "a-edit3"}); f.Type != "ack" {
				t.Fatalf("alice's second edit: %+v, want ack", f)
			}
			// A new socket replaying the room sees each message in its
			// current state: the first deleted, the second edited.
			pc := connectPeer(t, s.url, bob)
			pc.join("den", 0)
			pc.waitFor(2*time.Second, "replayed messages", func() bool { return len(pc.msgs["den"]) == 2 })
			if m := pc.messages("den")[0]; m.Text != "" || m.Seq != seq || !m.Deleted {
				t.Errorf("replayed message %+v, want seq %d deleted with no text", m, seq)
			}
			if m := pc.messages("den")[1]; m.Text != "second" || m.Seq != seq2 || m.Deleted || m.EditedAt == nil {
				t.Errorf("replayed message %+v, want seq %d edited to \"second\" with edited_at", m, seq2)
			}
			// Live, a message comes as stored: no edited_at, no deleted.
			if m := pb.messages("den"); len(m) < 2 || m[1].EditedAt != nil || m[1].Deleted {
				t.Errorf("live messages %+v, want the second without edited_at or deleted", m)
			}
		})
	}
}
