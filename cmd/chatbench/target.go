package main

import (
	"context"
	"fmt"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Targets: the service, and the reference servers measured beside it.
const (
	targetChat       = "chat"
	targetGorilla    = "gorilla"
	targetCentrifugo = "centrifugo"
)

// protocol is what chatbench speaks to one kind of server over a socket.
// The scenarios, the readings of the server and the counting are the same
// for every target; only the frames differ.
type protocol interface {
	// wsPath is the path of the WebSocket endpoint.
	wsPath() string
	// subprotocols returns the subprotocols offered on the upgrade.
	subprotocols(token string) []string
	// hello runs right after the upgrade, before the socket counts as
	// connected: it authenticates where the protocol does so in a frame.
	hello(ctx context.Context, s *sock, token string) error
	// join enters room and waits until the server has taken it.
	join(ctx context.Context, s *sock, room string) error
	// sendFrame builds a message for room whose text begins with the send
	// time in Unix nanoseconds, padded to size bytes of text.
	sendFrame(buf []byte, s *sock, room string, sender, k int, now time.Time, size int) []byte
	// handle counts what one frame from the server holds.
	handle(s *sock, data []byte, now time.Time)
	// acksOnWrite reports whether a send counts as acknowledged once it is
	// written, because the server answers none.
	acksOnWrite() bool
	// metrics reports whether the server has a Prometheus /metrics with
	// the Go runtime's memory statistics.
	metrics() bool
	// rest reports whether the server has the service's REST API (users,
	// logins, durable sends).
	rest() bool
}

// newProtocol returns the protocol of target.
func newProtocol(target string) (protocol, error) {
	switch target {
	case targetChat:
		return chatProto{}, nil
	case targetGorilla:
		return gorillaProto{}, nil
	case targetCentrifugo:
		return centrifugoProto{}, nil
	}
	return nil, fmt.Errorf("unknown target %q (want chat, gorilla or centrifugo)", target)
}

// chatProto is the service's own protocol, chat.v1: the access token in the
// upgrade's subprotocols, JSON frames with a type, acks and seqs.
type chatProto struct{}

func (chatProto) wsPath() string { return "/ws" }

func (chatProto) subprotocols(token string) []string {
	return []string{subprotocol, chat.SubprotocolTokenPrefix + token}
}

func (chatProto) hello(context.Context, *sock, string) error { return nil }

func (chatProto) join(ctx context.Context, s *sock, room string) error {
	if err := s.write([]byte(`{"type":"join","room":"` + room + `"}`)); err != nil {
		return err
	}
	return s.waitJoined(ctx)
}

func (chatProto) sendFrame(buf []byte, _ *sock, room string, sender, k int, now time.Time, size int) []byte {
	return sendFrame(buf, room, sender, k, now, size)
}

func (chatProto) handle(s *sock, data []byte, now time.Time) { s.handle(data, now) }
func (chatProto) acksOnWrite() bool                          { return false }
func (chatProto) metrics() bool                              { return true }
func (chatProto) rest() bool                                 { return true }
