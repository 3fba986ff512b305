package hub

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Read markers. A user's marker in a room moves only forward: a read frame
// at or below it changes nothing and is answered by nothing. A read that
// moves it is written to the store by the batching writer (readwriter.go),
// told to every socket of the user on this node at once (the asking socket
// with its ref) and on the other nodes by an EventRead, and told to the
// room's other members as a receipt (receipt.go).
//
// Each node keeps the markers of the users reading on it, by user and room:
// seeded at a join from the stored membership, moved by the reads made
// here and by the EventRead of the other nodes. It decides what is older
// without a store read; the store's own forward-only rule keeps the stored
// marker right whatever the node believes.

// Timings of read markers.
const (
	// markerIdle is how long a marker of a user who has no socket left in
	// the room on this node is kept before it is forgotten.
	markerIdle = time.Minute
)

// readKey names one user's marker in one room.
type readKey struct {
	room, user string
}

// marker is a user's read marker in a room as this node knows it.
type marker struct {
	seq int64
	gen uint64    // changes on every update, so a prune never drops a fresh one
	at  time.Time // last update
}

// readState holds the read markers and receipts of this node and the
// writer that stores the markers. Its mu is a leaf: no other lock is taken
// while it is held.
type readState struct {
	h      *Hub
	writer *readWriter

	mu       sync.Mutex
	gen      uint64
	markers  map[readKey]marker
	receipts map[readKey]*receiptSlot
}

// newReadState makes the hub's read state and starts its writer; stop
// ends the writer after a last flush.
func newReadState(h *Hub) *readState {
	s := &readState{
		h:        h,
		markers:  make(map[readKey]marker),
		receipts: make(map[readKey]*receiptSlot),
	}
	s.writer = newReadWriter(h, s.prune)
	go s.writer.run()
	return s
}

// stop stores the markers still queued, ends the writer and drops the
// receipts waiting for their interval. Shutdown calls it once every socket
// is detached, so no read frame comes after.
func (s *readState) stop() {
	s.writer.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range s.receipts {
		if sl.timer != nil {
			sl.timer.Stop()
		}
	}
}

// seed records the stored marker of a user who joined a room; a higher
// one already known (a read not yet stored) stays.
func (s *readState) seed(k readKey, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.markers[k] = marker{seq: max(s.markers[k].seq, seq), gen: s.gen, at: s.h.opt.Now()}
}

// advance moves the marker k to seq and reports whether it moved. A
// marker this node does not know is made when create is set (a read on
// this node) and otherwise left unknown, the move reported.
func (s *readState) advance(k readKey, seq int64, create bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.markers[k]
	if ok && seq <= m.seq {
		return false
	}
	if ok || create {
		s.gen++
		s.markers[k] = marker{seq: seq, gen: s.gen, at: s.h.opt.Now()}
	}
	return true
}

// prune forgets the markers of users with no socket in the room on this
// node for markerIdle, and the receipts whose interval has passed. The
// writer's goroutine calls it now and then.
func (s *readState) prune() {
	now := s.h.opt.Now()
	s.mu.Lock()
	idle := make(map[readKey]uint64)
	for k, m := range s.markers {
		if now.Sub(m.at) >= markerIdle {
			idle[k] = m.gen
		}
	}
	for k, sl := range s.receipts {
		if !sl.pending && now.Sub(sl.sentAt) >= receiptInterval {
			delete(s.receipts, k)
		}
	}
	s.mu.Unlock()
	for k := range idle {
		if s.h.presentHere(k) {
			delete(idle, k)
		}
	}
	s.mu.Lock()
	for k, gen := range idle {
		if s.markers[k].gen == gen {
			delete(s.markers, k)
		}
	}
	s.mu.Unlock()
}

// presentHere reports whether the user of k has a socket in its room on
// this node.
func (h *Hub) presentHere(k readKey) bool {
	r := h.lookupRoom(k.room)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.users[k.user] != nil
}

// joinedReads notes the stored read marker of a user who joined the room.
func (h *Hub) joinedReads(r *room, res chat.JoinResult) {
	h.reads.seed(readKey{room: r.name, user: res.Member.UserID}, res.Member.LastRead)
}

// read carries out a read frame: the user's marker in the room moves to
// the frame's seq.
func (c *Client) read(f chat.ClientFrame) {
	h := c.hub
	mb := c.member(f.Room)
	if mb == nil {
		c.sendError(chat.CodeNotJoined, "join the room first", f.Ref, f.Room)
		return
	}
	seq := *f.Seq
	if !c.allowed(f, mb, chat.ActMarkRead) || !c.seqStored(mb.room, f) {
		return
	}
	k := readKey{room: f.Room, user: c.userID}
	if !h.reads.advance(k, seq, true) {
		return
	}
	h.reads.writer.queue(k, seq)
	h.deliverRead(c.userID, f.Room, seq, c, f.Ref)
	h.publish(context.Background(), chat.Event{Kind: chat.EventRead, UserID: c.userID, UserRoom: f.Room, Seq: seq})
	h.reads.offerReceipt(k, c.username, seq, true)
}

// seqStored reports whether the seq of read frame f is one of the room's
// stored seqs, answering invalid_since when it is above the newest. A seq
// above the newest this node delivered is looked up in the store: another
// node may have stored it a moment ago.
func (c *Client) seqStored(r *room, f chat.ClientFrame) bool {
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	if *f.Seq <= last {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := c.hub.opt.Store.MessageBySeq(ctx, f.Room, *f.Seq)
	switch {
	case err == nil:
		return true
	case errors.Is(err, chat.ErrNotFound), errors.Is(err, chat.ErrMessageNotFound):
		c.sendError(chat.CodeInvalidSince, "seq is above the room's newest seq", f.Ref, f.Room)
	default:
		c.storeFailed("read: look up seq", f.Room, err)
		c.sendError(chat.CodeInternal, "the read marker could not be checked", f.Ref, f.Room)
	}
	return false
}

// deliverRead queues a read frame, encoded once, for every socket of
// userID on this node; from, when set, gets its own copy with ref.
func (h *Hub) deliverRead(userID, room string, seq int64, from *Client, ref string) {
	b, err := json.Marshal(chat.ReadFrame{Type: chat.TypeRead, Room: room, Seq: seq})
	if err != nil {
		h.log.Error("encode frame", "err", err)
		return
	}
	h.forUser(userID, func(c *Client) {
		switch {
		case c == from && ref != "":
			c.sendJSON(chat.ReadFrame{Type: chat.TypeRead, Room: room, Seq: seq, Ref: ref})
		default:
			c.deliver(Frame{Kind: KindData, Data: b})
		}
	})
}

// remoteRead applies the EventRead of another node: the user's sockets
// here hear of the new marker, unless this node already knows it as high.
func (h *Hub) remoteRead(ev chat.Event) {
	if ev.UserID == "" || ev.UserRoom == "" {
		return
	}
	if h.reads.advance(readKey{room: ev.UserRoom, user: ev.UserID}, ev.Seq, false) {
		h.deliverRead(ev.UserID, ev.UserRoom, ev.Seq, nil, "")
	}
}

// remoteReceipt applies the EventReceipt of another node to the room's
// members here, coalesced as this node's own receipts are.
func (h *Hub) remoteReceipt(ev chat.Event) {
	if ev.Room == "" || ev.UserID == "" {
		return
	}
	h.reads.offerReceipt(readKey{room: ev.Room, user: ev.UserID}, ev.Username, ev.Seq, false)
}
