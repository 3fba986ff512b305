package ws_test

import (
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
)

// answer sends f with ref and returns the ack or error that answers it,
// skipping other frames.
func (c *client) answer(f frame, ref string) frame {
	c.t.Helper()
	f["ref"] = ref
	c.send(f)
	for {
		g := c.read()
		if g.str("ref") == ref && (g.str("type") == "ack" || g.str("type") == "error") {
			return g
		}
	}
}

// TestEditDeleteWire checks the edit and delete frames on the wire: the
// ack carries the target message's id with the event's seq and ts; every
// socket in the room gets the edit (target, text, from, from_id, ts) and
// delete (target, by, by_id, ts) events at their own seq; a resent ref
// gets the first ack and stores nothing, another change under it is
// ref_conflict; an edit follows the text rules of send; and a replay shows
// each message in its current state, at its own seq and ts, with the
// edit and delete events after it.
func TestEditDeleteWire(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{hub: func(o *hub.Options) { o.MaxTextChars = 20 }})
		alicePair := e.user("alice")
		a := e.dial(alicePair.AccessToken)
		b := e.dial(e.user("bob").AccessToken)
		aliceID := a.welcome["user"].(map[string]any)["id"].(string)
		a.join("den", -1)
		b.join("den", -1)
		m1 := a.sendMsg("den", "frist")
		m2 := a.sendMsg("den", "to go")
		for range 2 {
			b.expect("message")
		}

		// Not joined: not_joined for both.
		c := e.dial(alicePair.AccessToken)
		if f := c.answer(frame{"type": "edit", "room": "den", "seq": 1, "text": "x"}, "nj1"); f.str("code") != chat.CodeNotJoined || f.str("room") != "den" {
			t.Fatalf("edit without a join: %v", f)
		}
		if f := c.answer(frame{"type": "delete", "room": "den", "seq": 1}, "nj2"); f.str("code") != chat.CodeNotJoined {
			t.Fatalf("delete without a join: %v", f)
		}
		// The text rules of send.
		for text, code := range map[string]string{" \n\t": chat.CodeTextEmpty, strings.Repeat("é", 21): chat.CodeTextTooLong, "a\u0007b": chat.CodeBadRequest} {
			if f := a.answer(frame{"type": "edit", "room": "den", "seq": 1, "text": text}, "bad-"+code); f.str("code") != code {
				t.Fatalf("edit to %q: %v, want %s", text, f, code)
			}
		}

		ack := a.answer(frame{"type": "edit", "room": "den", "seq": 1, "text": "first"}, "ed1")
		if ack.str("type") != "ack" || ack.str("id") != m1.str("id") || ack.num("seq") != 3 || ack.str("room") != "den" {
			t.Fatalf("edit ack %v, want the message's id %s and seq 3", ack, m1.str("id"))
		}
		ev := b.expect("edit")
		if ev.num("seq") != 3 || ev.num("target") != 1 || ev.str("text") != "first" || ev.str("from") != "alice" ||
			ev.str("from_id") != aliceID || ev.str("ts") != ack.str("ts") || ev.str("room") != "den" {
			t.Fatalf("edit event %v, want seq 3 target 1 by alice at the ack's ts %s", ev, ack.str("ts"))
		}

		dack := a.answer(frame{"type": "delete", "room": "den", "seq": 2}, "del1")
		if dack.str("type") != "ack" || dack.str("id") != m2.str("id") || dack.num("seq") != 4 {
			t.Fatalf("delete ack %v, want the message's id %s and seq 4", dack, m2.str("id"))
		}
		dv := b.expect("delete")
		if dv.num("seq") != 4 || dv.num("target") != 2 || dv.str("by") != "alice" || dv.str("by_id") != aliceID || dv.str("ts") != dack.str("ts") {
			t.Fatalf("delete event %v", dv)
		}

		// The same refs again: the first acks, nothing stored or sent.
		if f := a.answer(frame{"type": "edit", "room": "den", "seq": 1, "text": "first"}, "ed1"); f.str("type") != "ack" || f.num("seq") != 3 || f.str("ts") != ack.str("ts") || f.str("id") != ack.str("id") {
			t.Fatalf("edit resent: %v, want %v", f, ack)
		}
		if f := a.answer(frame{"type": "delete", "room": "den", "seq": 2}, "del1"); f.str("type") != "ack" || f.num("seq") != 4 || f.str("ts") != dack.str("ts") {
			t.Fatalf("delete resent: %v, want %v", f, dack)
		}
		if f := a.answer(frame{"type": "edit", "room": "den", "seq": 1, "text": "other"}, "ed1"); f.str("code") != chat.CodeRefConflict {
			t.Fatalf("another edit under a used ref: %v, want ref_conflict", f)
		}
		// Not a message (the edit event) and a deleted message.
		if f := a.answer(frame{"type": "edit", "room": "den", "seq": 3, "text": "x"}, "nf1"); f.str("code") != chat.CodeMessageNotFound {
			t.Fatalf("edit of an edit event: %v", f)
		}
		if f := a.answer(frame{"type": "delete", "room": "den", "seq": 2}, "nf2"); f.str("code") != chat.CodeMessageNotFound {
			t.Fatalf("delete of a deleted message: %v", f)
		}
		next := a.sendMsg("den", "after")
		if next.num("seq") != 5 {
			t.Fatalf("the next message has seq %d, want 5: a resent or refused change stored something", next.num("seq"))
		}
		if f := b.read(); f.str("type") != "message" || f.num("seq") != 5 {
			t.Fatalf("bob's next frame %v, want message 5 and no repeated event", f)
		}

		// A replay: current state, then the events at their seq.
		r := e.dial(e.user("carol").AccessToken)
		r.send(frame{"type": "join", "room": "den", "since": 0})
		var got []frame
		for {
			f := r.read()
			if f.str("type") == "presence" {
				continue
			}
			got = append(got, f)
			if f.str("type") == "joined" {
				break
			}
		}
		if len(got) != 6 {
			t.Fatalf("replay %v, want 5 events and joined", got)
		}
		for i, typ := range []string{"message", "message", "edit", "delete", "message", "joined"} {
			if got[i].str("type") != typ || (typ != "joined" && got[i].num("seq") != int64(i+1)) {
				t.Fatalf("replay frame %d = %v, want %s seq %d", i, got[i], typ, i+1)
			}
		}
		if f := got[0]; f.str("text") != "first" || f.str("edited_at") != ack.str("ts") || f.str("ts") != m1.str("ts") || f["deleted"] == true {
			t.Fatalf("replayed edited message %v, want text first, edited_at %s, ts %s", f, ack.str("ts"), m1.str("ts"))
		}
		if f := got[1]; f["deleted"] != true || f.str("text") != "" || f.str("id") != m2.str("id") || f.str("from") != "alice" || f.str("ts") != m2.str("ts") {
			t.Fatalf("replayed deleted message %v", f)
		}
		if j := got[5]; j.num("last_seq") != 5 || j.num("replayed") != 5 || j["truncated"] != false {
			t.Fatalf("joined %v", j)
		}
	})
}
