package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Command ids of a Centrifugo socket: the connect and the subscribe come
// first, every publish after them takes the next id.
const (
	centrifugoConnectID   = 1
	centrifugoSubscribeID = 2
	// centrifugoTokenTTL is how long a connection token stays valid.
	centrifugoTokenTTL = time.Hour
)

// centrifugoProto speaks Centrifugo's JSON client protocol: a connect
// command carrying a JWT signed with the HMAC secret of the generated
// config, a subscribe per room (channel), and publications sent as client
// publish commands into the channel (the config allows a subscriber to
// publish), each answered by a reply with its id, which counts as the ack.
// The server packs several replies and pushes into one frame, separated by
// newlines, and pings with an empty command that the client answers.
type centrifugoProto struct{}

func (centrifugoProto) wsPath() string               { return "/connection/websocket" }
func (centrifugoProto) subprotocols(string) []string { return nil }
func (centrifugoProto) acksOnWrite() bool            { return false }
func (centrifugoProto) metrics() bool                { return true }
func (centrifugoProto) rest() bool                   { return false }

// hello sends the connect command with the token and waits for its reply.
func (centrifugoProto) hello(ctx context.Context, s *sock, token string) error {
	tok, _ := json.Marshal(token)
	frame := fmt.Appendf(nil, `{"id":%d,"connect":{"token":%s,"name":"chatbench"}}`, centrifugoConnectID, tok)
	if err := s.write(frame); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return s.waitFor(ctx, s.helloCh, "connect")
}

// join subscribes to the channel named room and waits for the reply.
func (centrifugoProto) join(ctx context.Context, s *sock, room string) error {
	ch, _ := json.Marshal(room)
	if err := s.write(fmt.Appendf(nil, `{"id":%d,"subscribe":{"channel":%s}}`, centrifugoSubscribeID, ch)); err != nil {
		return err
	}
	return s.waitJoined(ctx)
}

// sendFrame builds a publish command into room whose data is
// {"text":"<send time> xxx…"}.
func (centrifugoProto) sendFrame(buf []byte, s *sock, room string, _, _ int, now time.Time, size int) []byte {
	buf = append(buf[:0], `{"id":`...)
	buf = strconv.AppendInt(buf, s.nextID.Add(1)+centrifugoSubscribeID, 10)
	buf = append(buf, `,"publish":{"channel":"`...)
	buf = append(buf, room...)
	buf = append(buf, `","data":{"text":"`...)
	buf = paddedText(buf, now, size)
	return append(buf, `"}}}`...)
}

// Parts of Centrifugo's frames the reader looks for.
var (
	keyCentID    = []byte(`{"id":`)
	keyCentError = []byte(`"error":`)
	keyCentPub   = []byte(`"pub":`)
	centPing     = []byte(`{}`)
)

// handle reads each command of the frame: a reply (connect, subscribe or
// publish, by id), a publication pushed to the channel, or a ping.
func (centrifugoProto) handle(s *sock, data []byte, now time.Time) {
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		switch {
		case len(line) == 0:
		case bytes.Equal(line, centPing):
			if err := s.write(centPing); err != nil {
				s.c.addErr("pong_failed")
			}
		case bytes.HasPrefix(line, keyCentID):
			id, _ := intAfter(line, keyCentID)
			refusal := ""
			if i := bytes.Index(line, keyCentError); i >= 0 {
				refusal = string(line[i+len(keyCentError):])
			}
			switch id {
			case centrifugoConnectID:
				s.helloDone(refusal)
			case centrifugoSubscribeID:
				s.joined(refusal)
			default:
				if refusal != "" {
					s.c.addErr("publish_refused")
					continue
				}
				s.ack(0, now)
			}
		case bytes.Contains(line, keyCentPub):
			sent, ok := intAfter(line, keyText)
			if !ok {
				s.c.addErr("undecodable_message")
				continue
			}
			s.message(0, sent, now)
		}
	}
}

// centrifugoToken returns a connection token for user, signed with secret.
func centrifugoToken(secret, user string) (string, error) {
	claims := jwt.MapClaims{"sub": user, "exp": time.Now().Add(centrifugoTokenTTL).Unix()}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// writeCentrifugoConfig writes the config of a benchmark Centrifugo into
// dir and returns its path: listening on addr's port on loopback, tokens
// checked with secret, subscribers allowed to publish into channels without
// a namespace, compression as asked, Prometheus metrics and pprof on (for
// the memory readings and the forced GC), logs at error level.
func writeCentrifugoConfig(dir, host string, port int, secret string, compress bool) (string, error) {
	cfg := map[string]any{
		"http_server": map[string]any{"address": host, "port": port},
		"log":         map[string]any{"level": "error"},
		"client": map[string]any{
			"token":           map[string]any{"hmac_secret_key": secret},
			"allowed_origins": []string{"*"},
		},
		"channel": map[string]any{
			"without_namespace": map[string]any{
				"allow_subscribe_for_client":   true,
				"allow_publish_for_subscriber": true,
			},
		},
		"http_api":   map[string]any{"key": secret},
		"websocket":  map[string]any{"compression": compress},
		"prometheus": map[string]any{"enabled": true},
		"debug":      map[string]any{"enabled": true},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "centrifugo.json")
	return path, os.WriteFile(path, data, 0o600)
}
