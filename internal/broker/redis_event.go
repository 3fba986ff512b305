package broker

// Events on the wire. Redis is a trust boundary: anyone who can PUBLISH on
// it (another deployment sharing it, a leaked password) could otherwise
// inject messages, close sessions or make nodes reread the store. So every
// event a node publishes is authenticated, and every event it receives is
// checked before the hub sees it:
//
//	payload = mac (32 bytes) | unix milliseconds (8 bytes, big-endian) | JSON
//	mac     = HMAC-SHA256(key, channel | 0x00 | unix milliseconds | JSON)
//
// The channel (prefix included) is under the MAC, so an event cannot be
// moved to another room or another deployment's prefix; the time bounds a
// replay to maxEventAge. The key is shared by every node (see EventKey).
// A received event is then decoded strictly and validated: its kind is one
// that travels between nodes, its room is its channel's, and its ids,
// names, seq, text and size are within the contract's limits. Whatever
// fails is dropped and counted in chat_broker_rejected_total{reason}.

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/chatsvc/chat/internal/chat"
)

// Event limits.
const (
	// MinKeyLen is the shortest event key accepted.
	MinKeyLen = 32
	// macLen and stampLen size the header of a payload.
	macLen   = sha256.Size
	stampLen = 8
	// maxEventAge is how far an event's time may lie from the receiver's
	// clock, either way: the replay window, and the clock skew tolerated
	// between nodes.
	maxEventAge = 5 * time.Minute
	// maxIDLen bounds node, user, session and message ids.
	maxIDLen = 64
	// maxSeq is the largest seq accepted: 2^53, exact in every JSON parser.
	maxSeq = 1 << 53
	// eventOverhead is the room an event takes besides its text.
	eventOverhead = 4096
	// eventKeyInfo labels the key derived from a shared secret, so it is
	// never the same as any other key taken from that secret.
	eventKeyInfo = "chat broker event mac v1"
)

// Reasons of chat_broker_rejected_total.
const (
	rejectSize    = "size"    // too short for a header, or too large
	rejectMAC     = "mac"     // the MAC does not match: not from a node of this deployment
	rejectStale   = "stale"   // signed too long ago, or in the future
	rejectDecode  = "decode"  // not one JSON event object
	rejectKind    = "kind"    // a kind only a node itself makes (resync, node_gone)
	rejectChannel = "channel" // the room is not the channel's, or a room event on the events channel
	rejectField   = "field"   // an id, name, seq, text or presence out of range
)

// RejectReasons lists every reason a received event is dropped for.
var RejectReasons = []string{rejectSize, rejectMAC, rejectStale, rejectDecode, rejectKind, rejectChannel, rejectField}

// EventKey derives the key that authenticates broker events from secret
// (CHAT_BROKER_SECRET, or else CHAT_JWT_SECRET): HKDF-SHA256 with the
// label "chat broker event mac v1" and no salt, so every node derives the
// same key and it differs from the token key.
func EventKey(secret []byte) ([]byte, error) {
	if len(secret) < MinKeyLen {
		return nil, fmt.Errorf("broker: event key: secret is %d bytes, want at least %d", len(secret), MinKeyLen)
	}
	k, err := hkdf.Key(sha256.New, secret, nil, eventKeyInfo, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("broker: event key: %w", err)
	}
	return k, nil
}

// eventCodec signs and checks the events of one deployment.
type eventCodec struct {
	key       []byte
	maxBytes  int // largest payload accepted
	maxText   int // longest text in code points
	roomChans string
	events    string
}

// mac returns the MAC of body published at stamp on channel.
func (c *eventCodec) mac(channel string, stamp, body []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(channel))
	h.Write([]byte{0})
	h.Write(stamp)
	h.Write(body)
	return h.Sum(nil)
}

// encode returns the signed payload of ev on channel at now.
func (c *eventCodec) encode(channel string, ev chat.Event, now time.Time) ([]byte, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	stamp := binary.BigEndian.AppendUint64(nil, uint64(now.UnixMilli()))
	out := make([]byte, 0, macLen+stampLen+len(body))
	out = append(out, c.mac(channel, stamp, body)...)
	out = append(out, stamp...)
	return append(out, body...), nil
}

// rejectError is why a received event was dropped.
type rejectError struct {
	reason string
	detail string
}

func (e *rejectError) Error() string { return "broker: event rejected: " + e.reason + ": " + e.detail }

func reject(reason, format string, args ...any) error {
	return &rejectError{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// decode checks and decodes a payload received on channel at now. An
// error is a *rejectError.
func (c *eventCodec) decode(channel string, payload []byte, now time.Time) (chat.Event, error) {
	if len(payload) < macLen+stampLen+2 || len(payload) > c.maxBytes {
		return chat.Event{}, reject(rejectSize, "%d bytes", len(payload))
	}
	mac, stamp, body := payload[:macLen], payload[macLen:macLen+stampLen], payload[macLen+stampLen:]
	if !hmac.Equal(mac, c.mac(channel, stamp, body)) {
		return chat.Event{}, reject(rejectMAC, "on %s", channel)
	}
	at := time.UnixMilli(int64(binary.BigEndian.Uint64(stamp)))
	if d := now.Sub(at); d > maxEventAge || d < -maxEventAge {
		return chat.Event{}, reject(rejectStale, "signed %v from now", d.Round(time.Second))
	}
	var ev chat.Event
	// Unknown fields are ignored, so nodes of a newer version can add some.
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&ev); err != nil {
		return chat.Event{}, reject(rejectDecode, "%v", err)
	}
	if len(bytes.TrimSpace(body[d.InputOffset():])) > 0 {
		return chat.Event{}, reject(rejectDecode, "more than one value")
	}
	if err := c.validate(channel, ev); err != nil {
		return chat.Event{}, err
	}
	return ev, nil
}

// validate checks a decoded event against its channel and the limits.
// Kinds this version does not know pass with the checks every event gets,
// so a newer node's events still reach the hub, which ignores what it does
// not know.
func (c *eventCodec) validate(channel string, ev chat.Event) error {
	switch ev.Kind {
	case chat.EventResync, chat.EventNodeGone:
		return reject(rejectKind, "%q is never taken from the wire", ev.Kind)
	case "":
		return reject(rejectField, "no kind")
	}
	if !validID(ev.Node) {
		return reject(rejectField, "node id")
	}
	room, onRoom := cutRoom(channel, c.roomChans)
	if ev.Message != nil && ev.Room == "" {
		ev.Room = ev.Message.Room
	}
	switch {
	case onRoom && ev.Room != room:
		return reject(rejectChannel, "room %q on the channel of %q", ev.Room, room)
	case !onRoom && (channel != c.events || ev.Room != ""):
		return reject(rejectChannel, "room %q on %s", ev.Room, channel)
	case ev.Message != nil && (ev.Message.Room == "" || ev.Message.Room != ev.Room):
		return reject(rejectChannel, "message of room %q in an event of %q", ev.Message.Room, ev.Room)
	}
	if onRoom && !canonicalRoom(room) {
		return reject(rejectChannel, "room name")
	}
	if userEvent(ev.Kind) && onRoom {
		return reject(rejectChannel, "%q on %s", ev.Kind, channel)
	}
	if ev.UserRoom != "" && (!userEvent(ev.Kind) || !canonicalRoom(ev.UserRoom)) {
		return reject(rejectField, "user room")
	}
	if err := c.validateFields(ev); err != nil {
		return err
	}
	return nil
}

// validateFields checks the fields each kind carries.
func (c *eventCodec) validateFields(ev chat.Event) error {
	var err error
	switch ev.Kind {
	case chat.EventMessage:
		err = c.validateMessage(ev.Message)
	case chat.EventPresence:
		err = validUser(ev.UserID, ev.Username)
		if err == nil && ev.Presence != chat.PresenceJoin && ev.Presence != chat.PresenceLeave {
			err = errors.New("presence")
		}
	case chat.EventTyping:
		err = validUser(ev.UserID, ev.Username)
	case chat.EventRevoke:
		if !validID(ev.SessionID) {
			err = errors.New("session id")
		}
	case chat.EventInvited:
		err = validUser(ev.UserID, ev.Username)
		if err == nil && ev.UserRoom == "" {
			err = errors.New("no room")
		}
	case chat.EventRead:
		err = validSeq(ev.Seq)
		if err == nil && !validID(ev.UserID) {
			err = errors.New("user id")
		}
		if err == nil && ev.UserRoom == "" {
			err = errors.New("no room")
		}
	case chat.EventReceipt:
		err = validUser(ev.UserID, ev.Username)
		if err == nil {
			err = validSeq(ev.Seq)
		}
	}
	if err == nil && ev.Kind != chat.EventMessage && ev.Message != nil {
		err = c.validateMessage(ev.Message)
	}
	if err != nil {
		return reject(rejectField, "%s: %v", ev.Kind, err)
	}
	return nil
}

func (c *eventCodec) validateMessage(m *chat.Message) error {
	switch {
	case m == nil:
		return errors.New("no message")
	case m.Seq < 1 || m.Seq > maxSeq:
		return fmt.Errorf("seq %d", m.Seq)
	case !validID(m.ID):
		return errors.New("message id")
	case !utf8.ValidString(m.Text) || utf8.RuneCountInString(m.Text) > c.maxText:
		return errors.New("text")
	}
	return validUser(m.FromID, m.From)
}

// validSeq checks a read marker's seq.
func validSeq(seq int64) error {
	if seq < 0 || seq > maxSeq {
		return fmt.Errorf("seq %d", seq)
	}
	return nil
}

// userEvent reports whether kind is addressed to a user's sockets and so
// travels on the node-wide channel, naming its room in UserRoom.
func userEvent(kind string) bool {
	return kind == chat.EventInvited || kind == chat.EventRead || kind == chat.EventRevoke
}

// canonicalRoom reports whether name is a room name in its normal form.
func canonicalRoom(name string) bool {
	n, err := chat.NormalizeRoom(name)
	return err == nil && n == name
}

// validUser checks a user id and username.
func validUser(id, name string) error {
	if !validID(id) {
		return errors.New("user id")
	}
	if n, err := chat.NormalizeUsername(name); err != nil || n != name {
		return errors.New("username")
	}
	return nil
}

// validID reports whether s is 1 to maxIDLen characters of printable
// ASCII.
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// cutRoom returns the room of a room channel.
func cutRoom(channel, roomPrefix string) (string, bool) {
	if len(channel) <= len(roomPrefix) || channel[:len(roomPrefix)] != roomPrefix {
		return "", false
	}
	return channel[len(roomPrefix):], true
}
