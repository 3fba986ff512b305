package broker

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// FuzzEventSigned feeds decode bodies that carry a good MAC and a fresh
// time, so every check behind the MAC is reached with arbitrary JSON, and
// checks that:
//   - decode never panics, and what it accepts passes validate and is
//     within the limits on its own terms (kind, node, room, seq, text);
//   - an accepted event round-trips: encoded again and decoded, it is the
//     same event;
//   - the same bytes with any one byte changed, on another channel, or
//     signed too long ago are rejected, for the MAC or for their age.
func FuzzEventSigned(f *testing.F) {
	c := testCodec("p:")
	now := time.UnixMilli(1_800_000_000_000)
	for _, ev := range []chat.Event{
		msgEvent("A", "north", 3),
		presenceEvent("A", "north", "u-1", "anna", chat.PresenceJoin),
		{Kind: chat.EventTyping, Node: "A", Room: "north", UserID: "u-1", Username: "anna"},
		{Kind: "future", Node: "A", Room: "north"},
	} {
		b, _ := json.Marshal(ev)
		f.Add("north", b, uint16(0), byte(0))
		f.Add("north", b, uint16(40), byte(1))
		f.Add("south", b, uint16(7), byte(0x80))
	}
	b, _ := json.Marshal(chat.Event{Kind: chat.EventRevoke, Node: "A", SessionID: "s"})
	f.Add("", b, uint16(0), byte(0))
	for _, s := range []string{
		`{"k":"message","n":"A","m":{"Room":"north","Seq":9007199254740993,"ID":"i","FromID":"u","From":"anna"}}`,
		`{"k":"resync","n":"A"}`, `{"k":"presence","n":"A","r":"north","u":"u","un":"Anna","p":"join"}`,
		`{"k":"message","n":"A","r":"north","m":{"Room":"north","Seq":1,"ID":"i","FromID":"u","From":"anna","TS":"2026-01-01T00:00:00+23:59"}}`,
		`{"k":"typing","n":"A","r":"north","u":"u","un":"anna"}]`, `[]`, `null`, `{}`, `"x"`,
	} {
		f.Add("north", []byte(s), uint16(3), byte(0))
	}
	f.Fuzz(func(t *testing.T, room string, body []byte, at uint16, flip byte) {
		ch := "p:events"
		if room != "" {
			ch = "p:room:" + room
		}
		payload := sign(c, ch, body, now)
		ev, err := c.decode(ch, payload, now)
		if err == nil {
			checkAccepted(t, c, ch, room, ev, now)
		} else if !errors.As(err, new(*rejectError)) {
			t.Fatalf("decode error %v is not a rejectError", err)
		}
		if len(payload) < macLen+stampLen+2 || len(payload) > c.maxBytes {
			return
		}
		if flip != 0 {
			g := bytes.Clone(payload)
			g[int(at)%len(g)] ^= flip
			wantReject(t, c, ch, g, now, rejectMAC)
		}
		wantReject(t, c, ch+"x", payload, now, rejectMAC)
		wantReject(t, c, ch, payload, now.Add(maxEventAge+time.Second), rejectStale)
	})
}

// sign returns body signed on channel ch at now.
func sign(c *eventCodec, ch string, body []byte, now time.Time) []byte {
	stamp := binary.BigEndian.AppendUint64(nil, uint64(now.UnixMilli()))
	return append(append(c.mac(ch, stamp, body), stamp...), body...)
}

// checkAccepted checks an event decode accepted on channel ch of room.
func checkAccepted(t *testing.T, c *eventCodec, ch, room string, ev chat.Event, now time.Time) {
	t.Helper()
	if err := c.validate(ch, ev); err != nil {
		t.Fatalf("accepted %+v, which validate refuses: %v", ev, err)
	}
	if ev.Kind == "" || ev.Kind == chat.EventResync || ev.Kind == chat.EventNodeGone || !validID(ev.Node) {
		t.Fatalf("accepted kind %q from node %q", ev.Kind, ev.Node)
	}
	if ev.Room != room && (ev.Room != "" || room == "") {
		t.Fatalf("accepted an event of room %q on %s", ev.Room, ch)
	}
	if m := ev.Message; m != nil && (m.Room != room || m.Seq < 1 || m.Seq > maxSeq || len([]rune(m.Text)) > c.maxText) {
		t.Fatalf("accepted message room %q seq %d, %d code points, on %s", m.Room, m.Seq, len([]rune(m.Text)), ch)
	}
	want, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("accepted %+v, which does not encode: %v", ev, err)
	}
	again, err := c.encode(ch, ev, now)
	if err != nil {
		t.Fatalf("encode %+v: %v", ev, err)
	}
	ev2, err := c.decode(ch, again, now)
	if err != nil {
		t.Fatalf("accepted %s, but not once encoded again: %v", want, err)
	}
	if got, _ := json.Marshal(ev2); !bytes.Equal(got, want) {
		t.Fatalf("round trip changed the event:\n%s\n%s", want, got)
	}
}

// wantReject checks that decode refuses payload on ch at now for reason.
func wantReject(t *testing.T, c *eventCodec, ch string, payload []byte, now time.Time, reason string) {
	t.Helper()
	_, err := c.decode(ch, payload, now)
	var re *rejectError
	if !errors.As(err, &re) || re.reason != reason {
		t.Fatalf("decode on %s: %v, want a %s rejection", ch, err, reason)
	}
}
