package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chatsvc/chat/internal/chat"
)

// WebSocket timings and sizes of the client.
const (
	handshakeTimeout = 30 * time.Second
	writeTimeout     = 10 * time.Second
	// joinTimeout bounds the wait for the joined answer.
	joinTimeout = 60 * time.Second
	// readBufferSize is each socket's read buffer; writes share a pool.
	readBufferSize = 4096
	// maxFrameBytes bounds one frame read from the server.
	maxFrameBytes = 1 << 20
	subprotocol   = chat.Subprotocol
)

// dialer opens sockets from one source address.
type dialer struct {
	ws websocket.Dialer
}

func newDialer(nd *net.Dialer, compress bool) *dialer {
	return &dialer{ws: websocket.Dialer{
		NetDialContext:    nd.DialContext,
		HandshakeTimeout:  handshakeTimeout,
		ReadBufferSize:    readBufferSize,
		WriteBufferPool:   &writePool,
		EnableCompression: compress,
	}}
}

// writePool holds write buffers between writes, so an idle socket keeps
// none.
var writePool sync.Pool

// counters is what the readers of one scenario count, shared by its sockets.
type counters struct {
	delivered atomic.Int64 // distinct messages received, over all sockets
	dups      atomic.Int64 // messages received again (seq not above the last)
	gaps      atomic.Int64 // seqs skipped over
	acks      atomic.Int64
	errs      atomic.Int64
	lat       hist // send-to-receive latency of messages
	ackLat    hist // send-to-ack latency

	mu       sync.Mutex
	errCodes map[string]int
}

func newCounters() *counters { return &counters{errCodes: make(map[string]int)} }

func (c *counters) addErr(code string) {
	c.errs.Add(1)
	c.mu.Lock()
	c.errCodes[code]++
	c.mu.Unlock()
}

// errSummary returns the error codes seen, as "code:N,…".
func (c *counters) errSummary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for k, v := range c.errCodes {
		parts = append(parts, fmt.Sprintf("%s:%d", k, v))
	}
	return strings.Join(parts, ",")
}

// sock is one open socket. Its reader goroutine is the only one that reads;
// writes are serialised by wmu (a protocol's reader may answer pings).
type sock struct {
	ws         *websocket.Conn
	proto      protocol
	c          *counters
	compressed bool
	wmu        sync.Mutex
	nextID     atomic.Int64 // command ids, for protocols that number them
	// window holds a token per send in flight (send scenario); the reader
	// returns one per ack or error that answers a send.
	window chan struct{}

	lastSeq   int64 // reader only
	joinedCh  chan struct{}
	joinOnce  sync.Once
	helloCh   chan struct{} // closed when the protocol's hello is answered
	helloOnce sync.Once
	joinErr   atomic.Value  // string: why the server refused the join
	ended     chan struct{} // closed when the reader returns
	closing   atomic.Bool
	readErr   error
}

// connect opens one authenticated socket as the user whose access token is
// given, from source address i, and starts its reader.
func (b *bench) connect(ctx context.Context, i int, token string, c *counters) (*sock, error) {
	d := b.dialers[i%len(b.dialers)]
	dd := d.ws
	dd.Subprotocols = b.proto.subprotocols(token)
	// Socket i goes to node i mod nodes, so members and senders spread
	// over every node.
	ws, resp, err := dd.DialContext(ctx, b.wsURLs[i%len(b.wsURLs)], nil)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			var eb chat.ErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&eb)
			return nil, fmt.Errorf("upgrade: HTTP %d %s", resp.StatusCode, eb.Error.Code)
		}
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	ws.SetReadLimit(maxFrameBytes)
	s := &sock{
		ws:         ws,
		proto:      b.proto,
		c:          c,
		compressed: strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate"),
		joinedCh:   make(chan struct{}),
		helloCh:    make(chan struct{}),
		ended:      make(chan struct{}),
	}
	go s.read()
	if err := b.proto.hello(ctx, s, token); err != nil {
		s.close()
		<-s.ended
		return nil, err
	}
	return s, nil
}

// join enters room as the protocol does and waits for the answer.
func (s *sock) join(ctx context.Context, room string) error {
	return s.proto.join(ctx, s, room)
}

// waitJoined waits until the reader has seen the answer to a join.
func (s *sock) waitJoined(ctx context.Context) error {
	return s.waitFor(ctx, s.joinedCh, "join")
}

// joined marks the join answered; a non-empty refusal fails it.
func (s *sock) joined(refusal string) {
	if refusal != "" {
		s.joinErr.Store(refusal)
	}
	s.joinOnce.Do(func() { close(s.joinedCh) })
}

// helloDone marks the protocol's hello answered.
func (s *sock) helloDone(refusal string) {
	if refusal != "" {
		s.joinErr.Store(refusal)
	}
	s.helloOnce.Do(func() { close(s.helloCh) })
}

// waitFor waits until ch is closed, the socket ends, joinTimeout passes or
// ctx is done; a refusal stored by the reader is the error.
func (s *sock) waitFor(ctx context.Context, ch chan struct{}, what string) error {
	t := time.NewTimer(joinTimeout)
	defer t.Stop()
	select {
	case <-ch:
		if e, _ := s.joinErr.Load().(string); e != "" {
			return fmt.Errorf("%s: refused: %s", what, e)
		}
		return nil
	case <-s.ended:
		return fmt.Errorf("%s: socket ended: %v", what, s.readErr)
	case <-t.C:
		return fmt.Errorf("%s: no answer", what)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *sock) write(frame []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return s.ws.WriteMessage(websocket.TextMessage, frame)
}

// close drops the connection without a closing handshake: at the end of a
// run thousands of sockets go at once.
func (s *sock) close() {
	s.closing.Store(true)
	_ = s.ws.Close()
}

// droppedByServer reports whether the socket ended before the client closed
// it.
func (s *sock) droppedByServer() bool {
	select {
	case <-s.ended:
		return !s.closing.Load()
	default:
		return false
	}
}

// Prefixes of the frames the reader counts; the server writes "type" first.
var (
	prefixMessage = []byte(`{"type":"message"`)
	prefixAck     = []byte(`{"type":"ack"`)
	keySeq        = []byte(`"seq":`)
	keyText       = []byte(`"text":"`)
	keyRef        = []byte(`"ref":"`)
)

// read handles frames until the socket ends. Messages and acks, the bulk of
// the traffic, are read without decoding the whole frame.
func (s *sock) read() {
	defer close(s.ended)
	var buf []byte
	for {
		_, r, err := s.ws.NextReader()
		if err == nil {
			buf, err = readAll(r, buf[:0])
		}
		if err != nil {
			s.readErr = err
			return
		}
		s.proto.handle(s, buf, time.Now())
	}
}

// readAll appends what r holds to buf, which is reused from frame to frame
// so a reader allocates only when a frame is larger than any before.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// otherFrame is the part of a rarer server frame the reader looks at.
type otherFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Ref     string `json:"ref"`
	Seq     int64  `json:"seq"`
	Text    string `json:"text"`
	LastSeq int64  `json:"last_seq"`
}

func (s *sock) handle(data []byte, now time.Time) {
	switch {
	case bytes.HasPrefix(data, prefixMessage):
		seq, ok1 := intAfter(data, keySeq)
		sent, ok2 := intAfter(data, keyText)
		if !ok1 || !ok2 {
			var f otherFrame
			if json.Unmarshal(data, &f) != nil {
				s.c.addErr("undecodable_message")
				return
			}
			seq = f.Seq
			sent, _ = strconv.ParseInt(strings.SplitN(f.Text, " ", 2)[0], 10, 64)
		}
		s.message(seq, sent, now)
	case bytes.HasPrefix(data, prefixAck):
		sent, _ := intAfter(data, keyRef)
		s.ack(sent, now)
	default:
		var f otherFrame
		if json.Unmarshal(data, &f) != nil {
			s.c.addErr("undecodable_frame")
			return
		}
		switch f.Type {
		case chat.TypeJoined:
			s.lastSeq = max(s.lastSeq, f.LastSeq)
			s.joined("")
		case chat.TypeAck:
			sent, _ := strconv.ParseInt(strings.SplitN(f.Ref, ".", 2)[0], 10, 64)
			s.ack(sent, now)
		case chat.TypeMessage:
			sent, _ := strconv.ParseInt(strings.SplitN(f.Text, " ", 2)[0], 10, 64)
			s.message(f.Seq, sent, now)
		case chat.TypeError:
			s.c.addErr(f.Code)
			if f.Ref != "" {
				s.release()
			}
		}
	}
}

// message counts one delivered message: distinct when its seq is above the
// last one seen on this socket, a duplicate otherwise. A seq of 0 (a server
// that numbers nothing) counts every delivery.
func (s *sock) message(seq, sentNanos int64, now time.Time) {
	if seq == 0 {
		s.c.delivered.Add(1)
		if sentNanos > 0 {
			s.c.lat.add(now.Sub(time.Unix(0, sentNanos)))
		}
		return
	}
	if seq <= s.lastSeq {
		s.c.dups.Add(1)
		return
	}
	if s.lastSeq > 0 && seq > s.lastSeq+1 {
		s.c.gaps.Add(seq - s.lastSeq - 1)
	}
	s.lastSeq = seq
	s.c.delivered.Add(1)
	if sentNanos > 0 {
		s.c.lat.add(now.Sub(time.Unix(0, sentNanos)))
	}
}

func (s *sock) ack(sentNanos int64, now time.Time) {
	s.c.acks.Add(1)
	if sentNanos > 0 {
		s.c.ackLat.add(now.Sub(time.Unix(0, sentNanos)))
	}
	s.release()
}

func (s *sock) release() {
	if s.window != nil {
		select {
		case <-s.window:
		default:
		}
	}
}

// intAfter parses the decimal integer right after the first key in data.
func intAfter(data, key []byte) (int64, bool) {
	i := bytes.Index(data, key)
	if i < 0 {
		return 0, false
	}
	var n int64
	j := i + len(key)
	start := j
	for ; j < len(data) && data[j] >= '0' && data[j] <= '9'; j++ {
		n = n*10 + int64(data[j]-'0')
	}
	return n, j > start
}

// sendFrame builds a send frame whose ref and text begin with the send time
// in Unix nanoseconds, padded with 'x' to size bytes of text.
func sendFrame(buf []byte, room string, sender, k int, now time.Time, size int) []byte {
	ts := strconv.FormatInt(now.UnixNano(), 10)
	buf = append(buf[:0], `{"type":"send","room":"`...)
	buf = append(buf, room...)
	buf = append(buf, `","ref":"`...)
	buf = append(buf, ts...)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(sender), 10)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(k), 10)
	buf = append(buf, `","text":"`...)
	buf = append(buf, ts...)
	buf = append(buf, ' ')
	for range size - len(ts) - 1 {
		buf = append(buf, 'x')
	}
	return append(buf, `"}`...)
}
