package main

import (
	"net/http"
	"testing"
	"time"
)

// TestClusterModeration moderates through one node and checks, within a
// second, the effects on the sockets of another (PostgreSQL and Redis):
// an invitation reaches the invitee, a mute refuses the next send and an
// unmute lifts it, a kick and a ban take the user's sockets out of the
// room after the member event, and a deleted room empties on every node.
func TestClusterModeration(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "")
	a, b := startRun(t, c.env), startRun(t, c.env)
	owner, bob, carl := signUp(t, a, "owner"), signUp(t, a, "bob"), signUp(t, a, "carl")
	within := time.Second
	act := func(path string, body any) {
		t.Helper()
		mustCall(t, a, http.MethodPost, "/api/v1/rooms/"+path, body, owner.access, http.StatusNoContent)
	}
	sendGets := func(p *peer, ref, code string) {
		t.Helper()
		if err := p.write(map[string]any{"type": "send", "room": "team", "text": "hello " + ref, "ref": ref}); err != nil {
			t.Fatal(err)
		}
		p.other(within, ref+" "+code, func(f frame) bool {
			return f.Ref == ref && (code == "ack" && f.Type == "ack" || f.Type == "error" && f.Code == code)
		})
	}

	mustCall(t, a, http.MethodPost, "/api/v1/rooms", map[string]string{"name": "team", "kind": "private"}, owner.access, http.StatusCreated)
	po := connectPeer(t, a.url, owner)
	pb, pc := connectPeer(t, b.url, bob), connectPeer(t, b.url, carl)
	po.join("team", 0)
	po2 := connectPeer(t, b.url, owner) // the owner's socket on the other node
	po2.join("team", -1)

	for _, who := range []struct {
		name string
		p    *peer
	}{{"bob", pb}, {"carl", pc}} {
		act("team/invite", map[string]string{"username": who.name})
		who.p.other(within, "invited on the other node", func(f frame) bool { return f.Type == "invited" && f.Room == "team" && f.By == "owner" })
		who.p.join("team", -1)
	}

	act("team/mute", map[string]string{"username": "bob", "duration": "10m"})
	pb.other(within, "member muted", func(f frame) bool { return f.Type == "member" && f.Change == "muted" && f.User == "bob" })
	sendGets(pb, "m1", "muted")
	act("team/unmute", map[string]string{"username": "bob"})
	pb.other(within, "member unmuted", func(f frame) bool { return f.Type == "member" && f.Change == "unmuted" })
	sendGets(pb, "m2", "ack")

	act("team/kick", map[string]string{"username": "bob", "reason": "off topic"})
	pb.other(within, "left kicked", func(f frame) bool { return f.Type == "left" && f.Room == "team" && f.Reason == "kicked" })
	sendGets(pb, "m3", "not_joined")

	act("team/ban", map[string]string{"username": "carl"})
	pc.other(within, "left banned", func(f frame) bool { return f.Type == "left" && f.Room == "team" && f.Reason == "banned" })
	sendGets(pc, "m4", "not_joined")
	expectError(t, pc, "team", "room_not_found")

	// Nothing from the room reaches the removed sockets any more.
	sendGets(po, "m5", "ack")
	po2.waitFor(within, "the message on the other node", func() bool {
		msgs := po2.msgs["team"]
		return len(msgs) > 0 && msgs[len(msgs)-1].Text == "hello m5"
	})
	for _, p := range []*peer{pb, pc} {
		for _, f := range p.messages("team") {
			if f.Text == "hello m5" {
				t.Fatalf("%s got a message after leaving the room", p.name)
			}
		}
	}

	// A deleted room empties on every node.
	pw := connectPeer(t, b.url, signUp(t, a, "walt"))
	mustCall(t, a, http.MethodPost, "/api/v1/rooms", map[string]string{"name": "doomed", "kind": "public"}, owner.access, http.StatusCreated)
	pw.join("doomed", -1)
	mustCall(t, a, http.MethodDelete, "/api/v1/rooms/doomed", nil, owner.access, http.StatusNoContent)
	pw.other(within, "left room_deleted", func(f frame) bool { return f.Type == "left" && f.Room == "doomed" && f.Reason == "room_deleted" })
}
