package broker

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testKey is the event key of the test nodes.
var testKey = []byte("broker-test-key-broker-test-key-broker-test-key")

func testCodec(prefix string) *eventCodec {
	return &eventCodec{
		key:       testKey,
		maxBytes:  macLen + stampLen + 12*chat.DefaultMaxTextChars + eventOverhead,
		maxText:   chat.DefaultMaxTextChars,
		roomChans: prefix + "room:",
		events:    prefix + "events",
	}
}

func TestEventKey(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	k1, err := EventKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := EventKey(secret)
	if string(k1) != string(k2) || len(k1) != 32 {
		t.Fatalf("EventKey is not a stable 32-byte key: %x %x", k1, k2)
	}
	if string(k1) == string(secret) {
		t.Fatal("EventKey returned the secret itself")
	}
	other, _ := EventKey([]byte(strings.Repeat("j", 32)))
	if string(other) == string(k1) {
		t.Fatal("two secrets give one key")
	}
	if _, err := EventKey([]byte("short")); err == nil {
		t.Fatal("EventKey accepted a short secret")
	}
}

// TestEventCodec checks what decode accepts and, for each way an event can
// be wrong, the reason it is rejected for.
func TestEventCodec(t *testing.T) {
	c := testCodec("p:")
	now := time.Now()
	msg := func(room string, seq int64) chat.Event {
		ev := msgEvent("A", room, seq)
		ev.Room = room
		return ev
	}
	signed := func(ch string, ev chat.Event, at time.Time) []byte {
		b, err := c.encode(ch, ev, at)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	raw := func(ch string, body string) []byte {
		var ev chat.Event
		_ = json.Unmarshal([]byte(body), &ev)
		b := signed(ch, chat.Event{}, now)
		stamp := b[macLen : macLen+stampLen]
		return append(append(c.mac(ch, stamp, []byte(body)), stamp...), body...)
	}
	longText := msg("north", 1)
	longText.Message.Text = strings.Repeat("x", chat.DefaultMaxTextChars+1)
	badName := presenceEvent("A", "north", "u-1", "Anna", chat.PresenceJoin)
	badPresence := presenceEvent("A", "north", "u-1", "anna", "maybe")
	tests := []struct {
		name    string
		channel string
		payload []byte
		reason  string // "" when accepted
	}{
		{"message", "p:room:north", signed("p:room:north", msg("north", 7), now), ""},
		{"message without room field", "p:room:north", signed("p:room:north", msgEvent("A", "north", 7), now), ""},
		{"presence", "p:room:north", signed("p:room:north", presenceEvent("A", "north", "u-1", "anna", chat.PresenceJoin), now), ""},
		{"typing", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventTyping, Node: "A", Room: "north", UserID: "u-1", Username: "anna"}, now), ""},
		{"revoke", "p:events", signed("p:events", chat.Event{Kind: chat.EventRevoke, Node: "A", SessionID: "s-1"}, now), ""},
		{"future kind", "p:room:north", signed("p:room:north", chat.Event{Kind: "reaction", Node: "A", Room: "north"}, now), ""},
		{"receipt", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventReceipt, Node: "A", Room: "north", UserID: "u-1", Username: "anna", Seq: 4}, now), ""},
		{"room deleted", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventRoomDeleted, Node: "A", Room: "north"}, now), ""},
		{"invited", "p:events", signed("p:events", chat.Event{Kind: chat.EventInvited, Node: "A", UserRoom: "north", UserID: "u-1", Username: "anna"}, now), ""},
		{"read", "p:events", signed("p:events", chat.Event{Kind: chat.EventRead, Node: "A", UserRoom: "north", UserID: "u-1", Seq: 9}, now), ""},
		{"invited on a room channel", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventInvited, Node: "A", Room: "north", UserRoom: "north", UserID: "u-1", Username: "anna"}, now), rejectChannel},
		{"invited without room", "p:events", signed("p:events", chat.Event{Kind: chat.EventInvited, Node: "A", UserID: "u-1", Username: "anna"}, now), rejectField},
		{"invited to an unnormalized room", "p:events", signed("p:events", chat.Event{Kind: chat.EventInvited, Node: "A", UserRoom: "North", UserID: "u-1", Username: "anna"}, now), rejectField},
		{"user room on a room event", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventReceipt, Node: "A", Room: "north", UserRoom: "south", UserID: "u-1", Username: "anna", Seq: 1}, now), rejectField},
		{"negative read", "p:events", signed("p:events", chat.Event{Kind: chat.EventRead, Node: "A", UserRoom: "north", UserID: "u-1", Seq: -1}, now), rejectField},
		{"receipt without user", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventReceipt, Node: "A", Room: "north", Seq: 1}, now), rejectField},
		{"clock skew within bounds", "p:room:north", signed("p:room:north", msg("north", 1), now.Add(-maxEventAge+time.Second)), ""},

		{"unsigned json", "p:room:north", []byte(`{"k":"message","n":"A"}`), rejectSize},
		{"empty", "p:events", nil, rejectSize},
		{"forged mac", "p:room:north", append(make([]byte, macLen+stampLen), `{"k":"revoke","n":"A","s":"x"}`...), rejectMAC},
		{"other key", "p:room:north", func() []byte {
			o := testCodec("p:")
			o.key = []byte(strings.Repeat("z", 32))
			b, _ := o.encode("p:room:north", msg("north", 1), now)
			return b
		}(), rejectMAC},
		{"moved to another room", "p:room:south", signed("p:room:north", msg("north", 1), now), rejectMAC},
		{"other deployment's prefix", "q:room:north", signed("p:room:north", msg("north", 1), now), rejectMAC},
		{"too old", "p:room:north", signed("p:room:north", msg("north", 1), now.Add(-maxEventAge-time.Second)), rejectStale},
		{"from the future", "p:room:north", signed("p:room:north", msg("north", 1), now.Add(maxEventAge+time.Second)), rejectStale},
		{"not json", "p:room:north", raw("p:room:north", "not json"), rejectDecode},
		{"two values", "p:room:north", raw("p:room:north", `{"k":"typing"} {}`), rejectDecode},
		{"stray bracket after the value", "p:room:north", raw("p:room:north", `{"k":"typing","n":"A","r":"north","u":"u-1","un":"anna"}]`), rejectDecode},
		{"message without a room on the events channel", "p:events", signed("p:events", msg("", 1), now), rejectChannel},
		{"resync", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventResync, Node: "A", Room: "north"}, now), rejectKind},
		{"resync everything", "p:events", signed("p:events", chat.Event{Kind: chat.EventResync, Node: "A"}, now), rejectKind},
		{"node gone", "p:events", signed("p:events", chat.Event{Kind: chat.EventNodeGone, Node: "B"}, now), rejectKind},
		{"room of another channel", "p:room:south", signed("p:room:south", msg("north", 1), now), rejectChannel},
		{"message room differs", "p:room:north", signed("p:room:north", func() chat.Event { e := msg("south", 1); e.Room = "north"; return e }(), now), rejectChannel},
		{"room event on the events channel", "p:events", signed("p:events", msg("north", 1), now), rejectChannel},
		{"unnormalized room", "p:room:North", signed("p:room:North", msg("North", 1), now), rejectChannel},
		{"seq 0", "p:room:north", signed("p:room:north", msg("north", 0), now), rejectField},
		{"seq too large", "p:room:north", signed("p:room:north", msg("north", maxSeq+1), now), rejectField},
		{"text too long", "p:room:north", signed("p:room:north", longText, now), rejectField},
		{"no message", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventMessage, Node: "A", Room: "north"}, now), rejectField},
		{"bad username", "p:room:north", signed("p:room:north", badName, now), rejectField},
		{"bad presence", "p:room:north", signed("p:room:north", badPresence, now), rejectField},
		{"no node", "p:room:north", signed("p:room:north", chat.Event{Kind: chat.EventTyping, Room: "north", UserID: "u", Username: "anna"}, now), rejectField},
		{"long session id", "p:events", signed("p:events", chat.Event{Kind: chat.EventRevoke, Node: "A", SessionID: strings.Repeat("s", 65)}, now), rejectField},
		{"no kind", "p:events", signed("p:events", chat.Event{Node: "A"}, now), rejectField},
		{"huge", "p:room:north", append(make([]byte, macLen+stampLen), make([]byte, c.maxBytes)...), rejectSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.decode(tt.channel, tt.payload, now)
			got := ""
			if err != nil {
				re, ok := err.(*rejectError)
				if !ok {
					t.Fatalf("error %v is not a rejectError", err)
				}
				got = re.reason
			}
			if got != tt.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tt.reason)
			}
		})
	}
}

// FuzzEventDecode checks that decode never panics and that whatever it
// accepts is an event a node may act on.
func FuzzEventDecode(f *testing.F) {
	c := testCodec("p:")
	now := time.UnixMilli(1_800_000_000_000)
	for _, ev := range []chat.Event{
		msgEvent("A", "north", 3),
		presenceEvent("A", "north", "u-1", "anna", chat.PresenceJoin),
		{Kind: chat.EventTyping, Node: "A", Room: "north", UserID: "u-1", Username: "anna"},
	} {
		b, _ := c.encode("p:room:north", ev, now)
		f.Add("north", b, false)
		f.Add("north", b[macLen+stampLen:], true)
	}
	b, _ := c.encode("p:events", chat.Event{Kind: chat.EventRevoke, Node: "A", SessionID: "s"}, now)
	f.Add("", b, false)
	f.Fuzz(func(t *testing.T, room string, payload []byte, sign bool) {
		ch := "p:events"
		if room != "" {
			ch = "p:room:" + room
		}
		if sign {
			// Sign arbitrary bodies, so the checks behind the MAC are
			// reached too.
			stamp := make([]byte, stampLen)
			copy(stamp, mustEncode(t, c, ch, now)[macLen:])
			payload = append(append(c.mac(ch, stamp, payload), stamp...), payload...)
		}
		ev, err := c.decode(ch, payload, now)
		if err != nil {
			return
		}
		if ev.Kind == chat.EventResync || ev.Kind == chat.EventNodeGone || !validID(ev.Node) {
			t.Fatalf("accepted %+v", ev)
		}
		if ev.Message != nil && (ev.Message.Room != room || ev.Message.Seq < 1) {
			t.Fatalf("accepted a message of room %q seq %d on %s", ev.Message.Room, ev.Message.Seq, ch)
		}
		if ev.Room != "" && ev.Room != room {
			t.Fatalf("accepted an event of room %q on %s", ev.Room, ch)
		}
	})
}

func mustEncode(t *testing.T, c *eventCodec, ch string, now time.Time) []byte {
	b, err := c.encode(ch, chat.Event{}, now)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestForgedEventsDropped publishes events straight to Redis, as anyone
// with access to it could, and checks that a node acts on none of them
// and counts each, while a real node's events still arrive.
func TestForgedEventsDropped(t *testing.T) {
	rdb, ctx, prefix, u := brokerRedis(t)
	b := startNode(t, u, prefix, "B", nil, nil)
	b.Subscribe("north")
	waitEvent(t, b.events, 5*time.Second, "the subscription", isResync("north"), nil)

	forged := []struct {
		channel, payload string
	}{
		{prefix + "room:north", mustJSON(t, msgEvent("X", "north", 1))},
		{prefix + "events", mustJSON(t, chat.Event{Kind: chat.EventRevoke, Node: "X", SessionID: "s-1"})},
		{prefix + "events", mustJSON(t, chat.Event{Kind: chat.EventResync, Node: "X"})},
		{prefix + "room:north", "garbage"},
	}
	for _, f := range forged {
		if err := rdb.Publish(ctx, f.channel, f.payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A real node's event, published after the forged ones, arrives; by
	// then every forged one has been seen and dropped.
	a := startNode(t, u, prefix, "A", nil, nil)
	publish(t, a, msgEvent("A", "north", 2))
	waitEvent(t, b.events, 5*time.Second, "the real message", isMessage("north", 2), func(ev chat.Event) bool {
		return ev.Node == "X" || ev.Kind == chat.EventRevoke || ev.Kind == chat.EventResync && ev.Room == ""
	})
	waitUntil(t, 5*time.Second, "4 rejections counted", func() bool {
		var n float64
		for _, r := range RejectReasons {
			n += testutil.ToFloat64(b.m.BrokerRejected.WithLabelValues(r))
		}
		return n == 4
	})
	for _, ev := range drain(b.events) {
		if ev.Node == "X" || ev.Kind == chat.EventRevoke {
			t.Fatalf("acted on a forged event %+v", ev)
		}
	}
	for _, r := range RejectReasons {
		if _, err := b.m.BrokerRejected.GetMetricWithLabelValues(r); err != nil {
			t.Fatal(err)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCloseRemovesPresence checks that a cleanly stopped node takes its
// presence fields and its heartbeat out of Redis, and leaves other nodes'
// fields alone.
func TestCloseRemovesPresence(t *testing.T) {
	rdb, ctx, prefix, u := brokerRedis(t)
	a := startNode(t, u, prefix, "A", nil, nil)
	publish(t, a, presenceEvent("A", "north", "u-1", "anna", chat.PresenceJoin))
	publish(t, a, presenceEvent("A", "south", "u-2", "bert", chat.PresenceJoin))
	if err := rdb.HSet(ctx, prefix+"presence:north", "B|u-3", "cleo").Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "presence written", func() bool {
		return rdb.HLen(ctx, prefix+"presence:north").Val() == 2 && rdb.HLen(ctx, prefix+"presence:south").Val() == 1
	})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := rdb.HGetAll(ctx, prefix+"presence:north").Val(); len(got) != 1 || got["B|u-3"] != "cleo" {
		t.Fatalf("presence of north after close = %v, want B's field only", got)
	}
	if n := rdb.HLen(ctx, prefix+"presence:south").Val(); n != 0 {
		t.Fatalf("presence of south after close has %d fields, want 0", n)
	}
	if _, err := rdb.ZScore(ctx, prefix+"nodes", "A").Result(); err == nil {
		t.Fatal("the node's heartbeat is still in the nodes set")
	}
}
