package main

import (
	"bytes"
	"context"
	"strconv"
	"time"
)

// gorillaProto speaks to the gorilla/websocket chat example: no
// authentication and no rooms (its one hub is the room), and every text
// message is broadcast to every connection, the sender's included. Its
// writer packs the messages queued for a connection into one frame,
// separated by newlines; there are no acks and no seqs.
type gorillaProto struct{}

func (gorillaProto) wsPath() string                                  { return "/ws" }
func (gorillaProto) subprotocols(string) []string                    { return nil }
func (gorillaProto) hello(context.Context, *sock, string) error      { return nil }
func (gorillaProto) acksOnWrite() bool                               { return true }
func (gorillaProto) metrics() bool                                   { return false }
func (gorillaProto) rest() bool                                      { return false }
func (gorillaProto) join(_ context.Context, s *sock, _ string) error { s.joined(""); return nil }

// sendFrame builds the text: the send time in Unix nanoseconds, a space,
// and 'x' up to size bytes.
func (gorillaProto) sendFrame(buf []byte, _ *sock, _ string, _, _ int, now time.Time, size int) []byte {
	return paddedText(buf[:0], now, size)
}

// handle counts each line of the frame as one delivery.
func (gorillaProto) handle(s *sock, data []byte, now time.Time) {
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		sent, ok := intAfter(line, nil)
		if !ok {
			s.c.addErr("undecodable_message")
			continue
		}
		s.message(0, sent, now)
	}
}

// paddedText appends the send time in Unix nanoseconds, a space, and 'x' up
// to size bytes to buf.
func paddedText(buf []byte, now time.Time, size int) []byte {
	n := len(buf)
	buf = strconv.AppendInt(buf, now.UnixNano(), 10)
	buf = append(buf, ' ')
	for len(buf)-n < size {
		buf = append(buf, 'x')
	}
	return buf
}
