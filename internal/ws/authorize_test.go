package ws_test

import (
	"context"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
)

// TestAuthorize checks that the authorization hook is asked on join, send
// and typing, and that a refusal is an error frame with its code that
// changes nothing else.
func TestAuthorize(t *testing.T) {
	refuse := map[hub.Act]string{hub.ActJoin: "secret", hub.ActSend: "readonly", hub.ActTyping: "readonly"}
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) {
		o.Authorize = func(_ context.Context, _, room string, act hub.Act) error {
			if refuse[act] == room {
				return chat.Errorf("forbidden", "not allowed here")
			}
			return nil
		}
	}})
	c := e.dial(e.user("alice").AccessToken)
	c.join("readonly", -1)
	tests := []struct {
		name  string
		frame frame
		code  string
	}{
		{"join refused", frame{"type": "join", "room": "secret", "ref": "j1"}, "forbidden"},
		{"not joined after a refused join", frame{"type": "send", "room": "secret", "text": "hi", "ref": "s1"}, chat.CodeNotJoined},
		{"send refused", frame{"type": "send", "room": "readonly", "text": "hi", "ref": "s2"}, "forbidden"},
		{"typing refused", frame{"type": "typing", "room": "readonly", "ref": "t1"}, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.send(tt.frame)
			f := c.expect("error")
			if f.str("code") != tt.code || f.str("ref") != tt.frame.str("ref") || f.str("room") != tt.frame.str("room") {
				t.Fatalf("got %v, want code %s", f, tt.code)
			}
		})
	}
	// Nothing was stored: a join from the start replays nothing.
	other := e.dial(e.user("bob").AccessToken)
	msgs, joined := other.join("readonly", 0)
	if len(msgs) != 0 || joined.num("last_seq") != 0 {
		t.Fatalf("refused send stored: %v %v", msgs, joined)
	}
}
