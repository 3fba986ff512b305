package ws_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatsvc/chat/internal/chat"
)

// TestDeleteMessageCounted checks that a moderator's delete of another
// user's message over a socket counts as delete_message in
// chat_moderation_actions_total, while an author deleting their own
// message, a refused delete and a resent one count nothing.
func TestDeleteMessageCounted(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		owner := e.dial(e.user("olga").AccessToken)
		bob := e.dial(e.user("bob").AccessToken)
		owner.join("club", -1) // makes the room, olga its owner
		bob.join("club", -1)
		ownSeq := owner.sendMsg("club", "by olga").num("seq")
		first := bob.sendMsg("club", "by bob").num("seq")
		second := bob.sendMsg("club", "by bob again").num("seq")
		counted := func() float64 {
			return testutil.ToFloat64(e.m.ModerationActions.WithLabelValues("delete_message"))
		}
		del := func(c *client, seq int64, ref string) frame {
			t.Helper()
			c.send(frame{"type": "delete", "room": "club", "seq": seq, "ref": ref})
			for {
				f := c.read()
				if f.str("ref") == ref {
					return f
				}
			}
		}

		if f := del(bob, ownSeq, "d1"); f.str("code") != chat.CodeForbidden {
			t.Fatalf("bob deletes olga's message: %v, want forbidden", f)
		}
		if f := del(bob, second, "d2"); f.str("type") != "ack" {
			t.Fatalf("bob deletes his own message: %v", f)
		}
		if got := counted(); got != 0 {
			t.Fatalf("delete_message = %v after a refused delete and an author's own, want 0", got)
		}
		if f := del(owner, first, "d3"); f.str("type") != "ack" {
			t.Fatalf("the owner deletes bob's message: %v", f)
		}
		if f := del(owner, first, "d3"); f.str("type") != "ack" {
			t.Fatalf("the owner resends the delete: %v", f)
		}
		if got := counted(); got != 1 {
			t.Fatalf("delete_message = %v after a moderator's delete, want 1", got)
		}
	})
}
