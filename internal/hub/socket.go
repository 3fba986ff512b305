package hub

import (
	"context"
	"sync"

	"github.com/chatsvc/chat/internal/chat"
)

// Socket is one connection to a client as the hub sees it: a queue it
// delivers frames to and a way to end it. The transport implements it; the
// hub never learns how frames reach the wire. Its methods are safe for
// concurrent use.
type Socket interface {
	// Deliver queues f without blocking. It reports false when the queue
	// has no room for f: a volatile frame past half the queue, any other
	// frame past the whole queue (the queue is then emptied, and the hub
	// closes the socket with 4008). A closing socket drops f and reports
	// true.
	Deliver(f Frame) bool
	// DeliverWait queues f, waiting while the queue is full instead of
	// refusing: replays are written with back-pressure. It fails when the
	// socket closes or ctx ends first.
	DeliverWait(ctx context.Context, f Frame) error
	// Queued reports how many frames wait in the queue, 0 for a closing
	// socket (which takes no more): a gap fill waits for it to shrink.
	Queued() int
	// Close queues the close frame cc after what is queued and reports
	// whether this call closed the socket (or scheduled its close).
	Close(cc chat.CloseCode) bool
	// Ping queues a heartbeat ping.
	Ping()
	// TimedOut ends the socket at once, without a close frame, because
	// nothing arrived from its peer in time.
	TimedOut()
	// Cut ends the socket at once: a shutdown ran out of time.
	Cut()
}

// Kind says how a socket's queue treats a frame.
type Kind uint8

// The kinds of frame the hub delivers.
const (
	KindData     Kind = iota // a frame for one socket: welcome, ack, joined, error, …
	KindMessage              // a chat message (counts as a delivery)
	KindVolatile             // presence or typing: dropped first, never 4008
)

// Frame is one encoded frame for a socket. A frame broadcast to a room is
// encoded once and its Shared payload is the same for every socket.
type Frame struct {
	Kind   Kind
	Data   []byte   // the payload of a frame for one socket
	Shared *Payload // the payload of a broadcast frame; nil for one socket
	// TS is the commit time in unix nanoseconds of a live message; 0 for a
	// replayed one, whose age is no delivery latency.
	TS int64
}

// Bytes returns the frame's encoded payload.
func (f Frame) Bytes() []byte {
	if f.Shared != nil {
		return f.Shared.Data
	}
	return f.Data
}

// Payload is the encoded frame of one broadcast, shared by every socket it
// reaches. A transport that turns it into something of its own (a prepared,
// compressed message) does so once for all of them with Prepared.
type Payload struct {
	Data []byte

	once sync.Once
	prep any
}

// NewPayload returns a shared payload of data.
func NewPayload(data []byte) *Payload { return &Payload{Data: data} }

// Prepared returns prepare(p.Data), calling prepare once whatever the
// number of sockets and goroutines asking.
func (p *Payload) Prepared(prepare func([]byte) any) any {
	p.once.Do(func() { p.prep = prepare(p.Data) })
	return p.prep
}
