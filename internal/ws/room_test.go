package ws_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/hub"
)

func TestSendAckBroadcast(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		a := e.dialUser("alice")
		b := e.dialUser("bob")
		a.expect("welcome")
		b.expect("welcome")
		_, ja := a.join("lobby", -1)
		if ja.num("last_seq") != 0 || ja.num("replayed") != 0 || ja["truncated"] != false {
			t.Fatalf("joined = %v", ja)
		}
		_, jb := b.join("Lobby", -1)
		if jb.str("room") != "lobby" {
			t.Fatalf("room name not lower-cased: %v", jb)
		}
		if got := fmt.Sprint(jb["members"]); got != "[alice bob]" {
			t.Fatalf("members = %s", got)
		}
		for i := 1; i <= 3; i++ {
			ref := newRef()
			a.send(frame{"type": "send", "room": "lobby", "text": fmt.Sprintf("hi %d", i), "ref": ref})
			ack := a.expect("ack")
			if ack.str("ref") != ref || ack.num("seq") != int64(i) || ack.str("room") != "lobby" || ack.str("id") == "" {
				t.Fatalf("ack = %v", ack)
			}
			if _, err := time.Parse(chat.TimeLayout, ack.str("ts")); err != nil {
				t.Fatalf("ts %q: %v", ack.str("ts"), err)
			}
			for _, c := range []*client{a, b} {
				m := c.expect("message")
				if m.num("seq") != int64(i) || m.str("id") != ack.str("id") || m.str("ts") != ack.str("ts") ||
					m.str("from") != "alice" || m.str("from_id") == "" || m.str("text") != fmt.Sprintf("hi %d", i) {
					t.Fatalf("message = %v, ack %v", m, ack)
				}
			}
		}
	})
}

func TestJoinReplay(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{hub: func(o *hub.Options) { o.ReplayLimit = 5 }})
		a := e.dialUser("alice")
		a.join("r", -1)
		for i := 1; i <= 8; i++ {
			a.sendMsg("r", fmt.Sprint("m", i))
		}
		b := e.dialUser("bob")
		tests := []struct {
			since     int64
			seqs      string
			truncated bool
		}{
			{since: -1, seqs: "[]"},
			{since: 6, seqs: "[7 8]"},
			{since: 8, seqs: "[]"},
			{since: 0, seqs: "[4 5 6 7 8]", truncated: true},
			{since: 3, seqs: "[4 5 6 7 8]"},
		}
		for _, tc := range tests {
			msgs, j := b.join("r", tc.since)
			var seqs []int64
			for _, m := range msgs {
				seqs = append(seqs, m.num("seq"))
			}
			if fmt.Sprint(seqs) != tc.seqs && !(tc.seqs == "[]" && len(seqs) == 0) {
				t.Fatalf("since %d: replayed %v, want %s", tc.since, seqs, tc.seqs)
			}
			if j.num("last_seq") != 8 || j.num("replayed") != int64(len(msgs)) || j["truncated"] != tc.truncated {
				t.Fatalf("since %d: joined = %v", tc.since, j)
			}
		}
		b.send(frame{"type": "join", "room": "r", "since": 9, "ref": "x1"})
		f := b.expect("error")
		if f.str("code") != chat.CodeInvalidSince || f.str("ref") != "x1" || f.str("room") != "r" {
			t.Fatalf("error = %v", f)
		}
	})
}

// TestJoinWhileSending checks that replay and live delivery together have no
// gap and no duplicate while others keep sending.
func TestJoinWhileSending(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		const senders, each = 4, 40
		sent := e.startSenders("sender", "busy", senders, each)
		time.Sleep(20 * time.Millisecond)
		var joiners []*client
		for j := range 3 {
			c := e.dialUser(fmt.Sprint("joiner", j))
			joiners = append(joiners, c)
		}
		type result struct{ seqs []int64 }
		results := make([]result, len(joiners))
		var jwg sync.WaitGroup
		for i, c := range joiners {
			jwg.Add(1)
			go func() {
				defer jwg.Done()
				time.Sleep(time.Duration(i*15) * time.Millisecond)
				msgs, _ := c.join("busy", 0)
				for _, m := range msgs {
					results[i].seqs = append(results[i].seqs, m.num("seq"))
				}
			}()
		}
		jwg.Wait()
		sent()
		total := int64(senders * each)
		for i, c := range joiners {
			seqs := results[i].seqs
			for int64(len(seqs)) < total {
				f, err := c.tryRead(5 * time.Second)
				if err != nil {
					t.Fatalf("joiner %d: got %d of %d: %v", i, len(seqs), total, err)
				}
				if f.str("type") == "message" {
					seqs = append(seqs, f.num("seq"))
				}
			}
			for k, s := range seqs {
				if s != int64(k+1) {
					t.Fatalf("joiner %d: seq[%d] = %d (gap or duplicate): %v", i, k, s, seqs)
				}
			}
		}
	})
}

// startSenders dials users prefix0 … prefix(n-1), joins each to room and
// has each send each messages, all at once. The returned func waits until
// every message is acked.
func (e *env) startSenders(prefix, room string, n, each int) (wait func()) {
	e.t.Helper()
	var wg sync.WaitGroup
	for u := range n {
		c := e.dialUser(fmt.Sprint(prefix, u))
		c.join(room, -1)
		wg.Go(func() {
			for i := range each {
				c.sendMsg(room, fmt.Sprintf("%s%d-%d", prefix, u, i))
			}
		})
	}
	return wg.Wait
}

func TestManySendersGapless(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{hub: func(o *hub.Options) { o.SendQueue = 4096 }})
		watcher := e.dialUser("watcher")
		watcher.join("storm", -1)
		const n, each = 20, 25
		e.startSenders("user", "storm", n, each)()
		for want := int64(1); want <= n*each; {
			f := watcher.read()
			if f.str("type") != "message" {
				continue
			}
			if f.num("seq") != want {
				t.Fatalf("watcher got seq %d, want %d", f.num("seq"), want)
			}
			want++
		}
	})
}

func TestRefIdempotency(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		p := e.user("alice")
		a := e.dial(p.AccessToken)
		a.join("r", -1)
		a.send(frame{"type": "send", "room": "r", "text": "once", "ref": "same-ref"})
		first := a.expect("ack")
		a.expect("message")
		a.c.Close()

		a2 := e.dial(p.AccessToken)
		a2.join("r", -1)
		a2.send(frame{"type": "send", "room": "r", "text": "once", "ref": "same-ref"})
		again := a2.expect("ack")
		if again.str("id") != first.str("id") || again.num("seq") != first.num("seq") || again.str("ts") != first.str("ts") {
			t.Fatalf("resend ack %v, first %v", again, first)
		}
		a2.send(frame{"type": "send", "room": "r", "text": "different", "ref": "same-ref"})
		if f := a2.expect("error"); f.str("code") != chat.CodeRefConflict || f.str("ref") != "same-ref" {
			t.Fatalf("conflict = %v", f)
		}
		// Nothing new was stored or delivered: the next send gets seq 2.
		if ack := a2.sendMsg("r", "next"); ack.num("seq") != 2 {
			t.Fatalf("next seq = %d", ack.num("seq"))
		}
	})
}

func TestErrorFramesKeepSocket(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{hub: func(o *hub.Options) { o.MaxRoomsPerConn = 2; o.MaxTextChars = 10 }})
		a := e.dialUser("alice")
		a.expect("welcome")
		a.join("one", -1)
		tests := []struct {
			name string
			raw  string
			code string
			ref  string
			room string
		}{
			{"not json", `hello`, chat.CodeBadRequest, "", ""},
			{"array", `[1,2]`, chat.CodeBadRequest, "", ""},
			{"unknown type", `{"type":"dance","ref":"r1"}`, chat.CodeBadRequest, "r1", ""},
			{"missing type", `{"room":"one"}`, chat.CodeBadRequest, "", "one"},
			{"missing room", `{"type":"join"}`, chat.CodeBadRequest, "", ""},
			{"bad room", `{"type":"join","room":"no spaces!","ref":"r2"}`, chat.CodeInvalidRoom, "r2", ""},
			{"long room", `{"type":"join","room":"` + strings.Repeat("a", 65) + `"}`, chat.CodeInvalidRoom, "", ""},
			{"since string", `{"type":"join","room":"one","since":"5","ref":"r3"}`, chat.CodeBadRequest, "r3", "one"},
			{"since negative", `{"type":"join","room":"one","since":-1}`, chat.CodeBadRequest, "", "one"},
			{"send without ref", `{"type":"send","room":"one","text":"x"}`, chat.CodeBadRequest, "", "one"},
			{"bad ref", `{"type":"send","room":"one","text":"x","ref":"` + strings.Repeat("r", 65) + `"}`, chat.CodeBadRequest, "", "one"},
			{"send without text", `{"type":"send","room":"one","ref":"r4"}`, chat.CodeBadRequest, "r4", "one"},
			{"not joined", `{"type":"send","room":"two","text":"x","ref":"r5"}`, chat.CodeNotJoined, "r5", "two"},
			{"typing not joined", `{"type":"typing","room":"two"}`, chat.CodeNotJoined, "", "two"},
			{"text empty", `{"type":"send","room":"one","text":"  \n ","ref":"r6"}`, chat.CodeTextEmpty, "r6", "one"},
			{"text too long", `{"type":"send","room":"one","text":"12345678901","ref":"r7"}`, chat.CodeTextTooLong, "r7", "one"},
			{"control char", `{"type":"send","room":"one","text":"a\u0001b","ref":"r8"}`, chat.CodeBadRequest, "r8", "one"},
			{"auth garbage", `{"type":"auth","token":"nope","ref":"r9"}`, chat.CodeInvalidToken, "r9", ""},
			{"auth missing token", `{"type":"auth"}`, chat.CodeBadRequest, "", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				a.sendRaw(1, []byte(tc.raw))
				f := a.expect("error")
				if f.str("code") != tc.code || f.str("ref") != tc.ref || f.str("room") != tc.room || f.str("message") == "" {
					t.Fatalf("got %v, want code %s ref %q room %q", f, tc.code, tc.ref, tc.room)
				}
			})
		}
		a.join("two", -1)
		a.send(frame{"type": "join", "room": "three", "ref": "r10"})
		if f := a.expect("error"); f.str("code") != chat.CodeTooManyRooms {
			t.Fatalf("third room: %v", f)
		}
		a.send(frame{"type": "leave", "room": "two", "ref": "r11"})
		if f := a.expect("left"); f.str("room") != "two" || f.str("ref") != "r11" {
			t.Fatalf("left = %v", f)
		}
		a.join("three", -1)
		// Leaving a room never joined is answered too.
		a.send(frame{"type": "leave", "room": "never"})
		a.expect("left")
		// The socket still works.
		a.sendMsg("one", "still here")
	})
}

func TestTypingAndPresence(t *testing.T) {
	forDialects(t, func(t *testing.T, dialect string) {
		e := newEnv(t, dialect, envOpts{})
		a := e.dialUser("alice")
		b := e.dialUser("bob")
		a.expect("welcome")
		b.expect("welcome")
		a.join("room", -1)
		b.join("room", -1)
		p := a.expect("presence")
		if p.str("event") != "join" || p.str("user") != "bob" || p.str("room") != "room" || p.str("user_id") == "" {
			t.Fatalf("presence = %v", p)
		}
		// A second socket of bob brings no new presence event.
		b2 := e.dialUser("bob")
		b2.join("room", -1)

		b.send(frame{"type": "typing", "room": "room"})
		b.send(frame{"type": "typing", "room": "room"}) // within 3 s: dropped
		f := a.expect("typing")
		if f.str("from") != "bob" || f.str("room") != "room" {
			t.Fatalf("typing = %v", f)
		}
		// bob's sockets do not get their own typing; alice gets exactly one.
		if f, err := b2.tryRead(300 * time.Millisecond); err == nil {
			t.Fatalf("bob's other socket got %v", f)
		}
		if f, err := a.tryRead(300 * time.Millisecond); err == nil {
			t.Fatalf("second typing relayed: %v", f)
		}
		b.send(frame{"type": "leave", "room": "room"})
		b.expect("left")
		if f, err := a.tryRead(300 * time.Millisecond); err == nil {
			t.Fatalf("presence leave while bob still has a socket: %v", f)
		}
		b2.c.Close()
		p = a.expect("presence")
		if p.str("event") != "leave" || p.str("user") != "bob" {
			t.Fatalf("presence = %v", p)
		}
	})
}

func TestPresenceLimit(t *testing.T) {
	e := newEnv(t, "sqlite", envOpts{hub: func(o *hub.Options) { o.PresenceMaxMembers = 2 }})
	a := e.dialUser("alice")
	b := e.dialUser("bob")
	c := e.dialUser("carol")
	a.join("big", -1)
	b.join("big", -1)
	a.expect("presence") // bob: 2 members, within the limit
	c.join("big", -1)    // carol makes 3: no event
	if f, err := a.tryRead(300 * time.Millisecond); err == nil {
		t.Fatalf("presence beyond the limit: %v", f)
	}
}
