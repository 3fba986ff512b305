package ws_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// TestMuteEndsByItself checks that a mute lasts until its duration has
// passed and no longer: send and edit get muted before, and are carried out
// after, without an unmute.
func TestMuteEndsByItself(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		ctx := context.Background()
		owner := e.dial(e.user("olga").AccessToken)
		bob := e.dial(e.user("bob").AccessToken)
		owner.join("club", -1)
		bob.join("club", -1)
		seq := bob.sendMsg("club", "before").num("seq")
		bob.expect("message")
		olga, _, err := e.db.UserByName(ctx, "olga")
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := e.db.UserByName(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(1500 * time.Millisecond)
		ev, _, err := e.db.Append(ctx, chat.NewMessage{Room: "club", UserID: olga.ID, Username: "olga",
			Kind: chat.StreamMember, Member: b.ID, MemberName: "bob", Change: chat.ChangeMuted, Until: until})
		if err != nil {
			t.Fatal(err)
		}
		e.hub.Stored(ctx, ev)
		if f := bob.expect(chat.StreamMember); f.str("change") != chat.ChangeMuted || f.str("until") == "" {
			t.Fatalf("member event %v, want muted with until", f)
		}
		if f := bob.answer(frame{"type": "send", "room": "club", "text": "muted?"}, "s1"); f.str("code") != chat.CodeMuted {
			t.Fatalf("send while muted: %v, want muted", f)
		}
		if f := bob.answer(frame{"type": "edit", "room": "club", "seq": seq, "text": "edited?"}, "e1"); f.str("code") != chat.CodeMuted {
			t.Fatalf("edit while muted: %v, want muted", f)
		}
		time.Sleep(time.Until(until) + 100*time.Millisecond)
		if f := bob.answer(frame{"type": "send", "room": "club", "text": "free"}, "s2"); f.str("type") != "ack" {
			t.Fatalf("send after the mute's end: %v, want ack", f)
		}
		if f := bob.answer(frame{"type": "edit", "room": "club", "seq": seq, "text": "edited"}, "e2"); f.str("type") != "ack" {
			t.Fatalf("edit after the mute's end: %v, want ack", f)
		}
	})
}
