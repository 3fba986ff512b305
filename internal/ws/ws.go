// Package ws carries the hub's sockets over WebSocket (gorilla/websocket):
// the /ws handshake, the read side of each socket (on Linux a poller that
// starts a worker only when a socket has bytes to read; elsewhere, or on
// request, one reader goroutine per socket), its writer (the
// outgoing queue, a writer goroutine started on demand, coalesced writes,
// pings and the close), and the wire-byte counting listener. Rooms,
// ordering, presence and every decision about a frame belong to package
// hub; a socket here is the hub's Socket.
//
// # Lock order
//
// conn.mu is a leaf: the hub queues frames and closes sockets while holding
// a room's lock, so nothing in this package takes a hub lock, or calls into
// the hub, with conn.mu held. countingConn.mu is a leaf under the writer.
//
// # Goroutines and their owners
//
// The read side of a socket (readLoop on a goroutine, or serveReady on a
// worker of the poller; see readside.go) is started by the handshake once
// the hub has attached the socket, and ends with Hub.Detach, which
// Hub.Shutdown waits for; Server.Shutdown then stops the poller and waits
// for the last reader goroutines and workers to return. The writer of a
// socket (writeLoop) exists only while its queue is not empty; the read
// side's end waits for it while the close is written.
// A socket's message timer (conn.msgTimer), armed by the reader at each
// message's first frame and stopped once the message is read, fires on a
// goroutine of its own that only queues the 1008 close. The writer calls
// into the hub (Client.TooSlow, after a write timed out) with no lock held.
//
// # Limits
//
// Every data frame and every ping of the peer costs a token of the
// socket's rate bucket, asked before the frame's body is read: a ping
// beyond it gets no pong, a data frame beyond it is read but not decoded
// and gets rate_limited. At most one pong waits in the writer. A message
// must be whole within the hub's PongTimeout of its first frame (else
// 1008). What the peer leaves unread is bounded by the outgoing queue
// (overflow: 4008) and a modest kernel send buffer; a write that cannot
// finish within WriteTimeout is a slow consumer too (4008).
//
// # Counting
//
// Every frame written is counted by writeLoop, every frame read by
// readOne, a heartbeat timeout by conn.TimedOut and every failed
// handshake by serveWS with its reason. The end of a socket is counted by
// the hub (Hub.Detach), with the close code cleanup works out.
package ws

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/gorilla/websocket"
)

// Default limits and timings of the transport. Each can be overridden in
// Options.
const (
	// DefaultWriteTimeout bounds one write to a socket. A write that
	// cannot finish within it ends the socket as a slow consumer (4008).
	DefaultWriteTimeout = 10 * time.Second
	// sendBuffer is the kernel send buffer asked for each socket (Linux
	// doubles it): with the outgoing queue, it bounds what a peer that
	// reads nothing holds up before its writes stall.
	sendBuffer = 128 << 10
	// closeGrace is how long a socket may take to answer our close frame.
	closeGrace = 2 * time.Second
	// readBufferSize is the per-socket read buffer: frames are small. It
	// holds a whole control frame.
	readBufferSize = 512
	// compressMin is the payload size below which a frame is not compressed.
	compressMin = 128
	// compressOwnMin is the same for a frame written to one socket only,
	// which is deflated for that one write.
	compressOwnMin = 512
)

// Options configure the WebSocket transport. Zero values take the
// contract's defaults.
type Options struct {
	AllowedOrigins []string // scheme://host[:port]; empty: same host only
	Compression    bool
	WriteTimeout   time.Duration
	MaxFrameBytes  int
	// WriteDelay is the least time between two writes to one socket:
	// frames that come faster leave together in one write. The first
	// frame after a quiet spell leaves at once. 0 writes every drain of
	// the queue at once.
	WriteDelay time.Duration
	// ReadMode is ReadEpoll (the default; no goroutine per idle socket, on
	// Linux) or ReadGoroutine (one reader goroutine per socket, and the
	// form used elsewhere, or for a connection with no descriptor).
	ReadMode string
}

func (o *Options) defaults() {
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = 65536
	}
}

// handler serves /ws for one hub.
type handler struct {
	hub   *hub.Hub
	opt   Options
	queue int // a socket's outgoing queue, from the hub's SendQueue
	// msgTimeout bounds the time from a message's first frame to its
	// last: the hub's PongTimeout.
	msgTimeout time.Duration
	log        *slog.Logger
	m          *metrics.Metrics
	upgrader   websocket.Upgrader
	reads      readSides
}

// Server is the /ws endpoint of one hub.
type Server struct{ h *handler }

// Handler returns the /ws handler: it checks the token, the origin and the
// per-user cap, upgrades, and attaches each socket to h. Its Shutdown is
// to be called after the hub's.
func Handler(h *hub.Hub, opt Options) *Server {
	opt.defaults()
	ho := h.Options()
	s := &handler{hub: h, opt: opt, queue: ho.SendQueue, msgTimeout: ho.PongTimeout, log: ho.Logger, m: ho.Metrics}
	s.reads.epoll = opt.ReadMode != ReadGoroutine
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// 0: the library reads through the buffer ownReader gives it,
		// readBufferSize bytes.
		ReadBufferSize:    0,
		WriteBufferPool:   &sync.Pool{},
		EnableCompression: opt.Compression,
		CheckOrigin:       func(*http.Request) bool { return true }, // checked before the upgrade
		Error:             upgradeError,
	}
	return &Server{h: s}
}

// ServeHTTP serves the WebSocket handshake.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.serveWS(w, r) }

// Shutdown stops the poller and waits until the read side of every socket
// has ended, or ctx ends. Call it after the hub's Shutdown, which ends the
// sockets.
func (s *Server) Shutdown(ctx context.Context) error { return s.h.reads.shutdown(ctx) }
