package hub

import (
	"encoding/json"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// maxPending bounds the live frames held for a member while its replay is
// written; past it the member is a slow consumer.
const maxPendingFactor = 4

// catchUpChunk is how many messages one store read fills a gap with.
const catchUpChunk = 500

// maxStash bounds the early messages a room holds while it waits for a
// missing seq, and how far past the newest delivered seq a held one may be.
// A message refused by it is not lost: the gap fill reads it from the store.
const maxStash = 2 * catchUpChunk

// maxRemoteNodes bounds the nodes one remote user is recorded present on.
const maxRemoteNodes = 64

// room is the hub's view of one room on this node: its members here and
// the newest seq delivered to them. Deliveries run under mu, which keeps
// every member's stream in seq order without a global lock.
type room struct {
	hub  *Hub
	name string

	holders int // members and joins in progress; guarded by the shard lock

	mu       sync.Mutex
	ready    bool  // last is known
	last     int64 // newest seq delivered in order
	members  map[*Client]*member
	users    map[string]*presence // local sockets per user
	stash    map[int64]chat.Message
	gapTimer *time.Timer
	gapArmed bool // gapTimer runs; it is not moved until it fires
	fill     fillState
	hinted   hintState
	typing   map[string]time.Time
	// remote lists the users present on other nodes: user id -> node ->
	// username. Kept from presence events and, once, from the broker.
	remote       map[string]map[string]string
	presenceOnce sync.Once
	presenceGen  uint64 // counts remote presence changes

	// outbox holds the presence changes to publish, in the order they
	// happened under mu; flushOutbox publishes them once mu is released.
	outbox []chat.Event
	pubMu  sync.Mutex // held while the outbox is published; taken before mu

	// acc is what the room knows of its kind and its members' rights.
	acc roomAccess
	// releases counts the sockets member events took out of the room that
	// settle has not released yet.
	releases int
}

// presence counts one user's sockets in a room on this node.
type presence struct {
	username string
	n        int
}

// member is one socket's membership of a room.
type member struct {
	room      *room
	conn      *Client
	replaying bool
	pending   []Frame
	removed   atomic.Bool // taken out of the room by RemoveFromRoom
}

func (h *Hub) roomShardOf(name string) *roomSet {
	return &h.roomShard[maphash.String(h.seed, name)%roomShards]
}

// getRoom returns the room, creating it, and holds it until releaseRoom.
func (h *Hub) getRoom(name string) *room {
	s := h.roomShardOf(name)
	s.mu.Lock()
	r := s.rooms[name]
	created := false
	if r == nil {
		r = &room{
			hub:     h,
			name:    name,
			members: make(map[*Client]*member),
			users:   make(map[string]*presence),
		}
		s.rooms[name] = r
		created = true
	}
	r.holders++
	s.mu.Unlock()
	if created {
		if sub, ok := h.opt.Broker.(RoomSubscriber); ok {
			sub.Subscribe(name)
		}
	}
	return r
}

func (h *Hub) releaseRoom(r *room) {
	s := h.roomShardOf(r.name)
	s.mu.Lock()
	r.holders--
	gone := r.holders == 0
	if gone {
		delete(s.rooms, r.name)
	}
	s.mu.Unlock()
	if gone {
		r.mu.Lock()
		if r.gapTimer != nil {
			r.gapTimer.Stop()
			r.gapArmed = false
		}
		r.mu.Unlock()
		if sub, ok := h.opt.Broker.(RoomSubscriber); ok {
			sub.Unsubscribe(r.name)
		}
	}
}

func (h *Hub) lookupRoom(name string) *room {
	s := h.roomShardOf(name)
	s.mu.Lock()
	r := s.rooms[name]
	s.mu.Unlock()
	return r
}

// setLast records the store's newest seq when the room is first used here,
// and delivers what arrived before that.
func (r *room) setLastLocked(seq int64) {
	if r.ready {
		return
	}
	r.ready = true
	r.last = seq
	r.drainStashLocked()
	r.startHintReadLocked()
}

// deliver hands a stored message to every member in seq order. A message
// already delivered is dropped; one that comes early waits in the stash
// until the gap before it is filled, from the store if need be.
func (r *room) deliver(m chat.Message) {
	r.mu.Lock()
	r.deliverLocked(m)
	removed := r.releases > 0
	r.mu.Unlock()
	if removed {
		r.settle()
	}
}

func (r *room) deliverLocked(m chat.Message) {
	if !r.ready {
		r.stashLocked(m)
		return
	}
	if r.fill.running {
		r.holdLocked(m)
		return
	}
	switch {
	case m.Seq <= r.last:
		return
	case m.Seq > r.last+1:
		r.stashLocked(m)
		r.armGapTimerLocked()
		return
	}
	r.fanoutLocked(m)
	r.drainStashLocked()
}

// stashLocked holds m until the seqs before it are delivered. Past maxStash
// (in count or in distance from the newest delivered seq) m is not held, and
// the gap fill reads it from the store instead.
func (r *room) stashLocked(m chat.Message) {
	if len(r.stash) >= maxStash || (r.ready && m.Seq-r.last > maxStash) {
		if r.ready {
			r.armGapTimerLocked()
		}
		return
	}
	if r.stash == nil {
		r.stash = make(map[int64]chat.Message)
	}
	r.stash[m.Seq] = m
}

func (r *room) drainStashLocked() {
	for len(r.stash) > 0 {
		for seq := range r.stash {
			if seq <= r.last {
				delete(r.stash, seq)
			}
		}
		next, ok := r.stash[r.last+1]
		if !ok {
			break
		}
		delete(r.stash, next.Seq)
		r.fanoutLocked(next)
	}
	if len(r.stash) == 0 {
		r.stash = nil
		if r.gapArmed {
			r.gapTimer.Stop()
			r.gapArmed = false
		}
	} else {
		r.armGapTimerLocked()
	}
}

// armGapTimerLocked starts the wait for a missing seq, unless one runs: a
// gap is read from the store gapWait after it was first seen, however many
// messages arrive meanwhile.
func (r *room) armGapTimerLocked() {
	if r.gapArmed {
		return
	}
	r.gapArmed = true
	if r.gapTimer == nil {
		r.gapTimer = time.AfterFunc(gapWait, r.gapExpired)
		return
	}
	r.gapTimer.Reset(gapWait)
}

// gapExpired fills the gap from the store when the wait is over.
func (r *room) gapExpired() {
	r.mu.Lock()
	r.gapArmed = false
	r.mu.Unlock()
	r.hub.background(func() { r.catchUp(0) })
}

// fanoutLocked encodes m once and queues it for every member, then applies
// a member event to what the room knows of its members.
func (r *room) fanoutLocked(m chat.Message) {
	r.last = m.Seq
	r.queueLocked(m)
	if m.Kind == chat.StreamMember {
		r.applyMemberLocked(m)
	}
}

func (r *room) queueLocked(m chat.Message) {
	if len(r.members) == 0 {
		return
	}
	f, err := messageFrame(m)
	if err != nil {
		r.hub.log.Error("encode message frame", "room", r.name, "err", err)
		return
	}
	limit := r.hub.opt.SendQueue * maxPendingFactor
	for c, mb := range r.members {
		if mb.replaying {
			if len(mb.pending) >= limit {
				c.tooSlow()
				continue
			}
			mb.pending = append(mb.pending, f)
			continue
		}
		c.deliver(f)
	}
}

// messageFrame encodes the frame that delivers m, once for every socket
// whatever its compression.
func messageFrame(m chat.Message) (Frame, error) {
	b, err := json.Marshal(chat.StreamFrame(m))
	if err != nil {
		return Frame{}, err
	}
	return Frame{Kind: KindMessage, Shared: NewPayload(b), TS: m.TS.UnixNano()}, nil
}

// broadcastLocked queues a volatile frame (presence, typing) for every
// member except the sockets of user skip.
func (r *room) broadcastLocked(v any, skip string) {
	if len(r.members) == 0 {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	f := Frame{Kind: KindVolatile, Shared: NewPayload(b)}
	for c, mb := range r.members {
		if c.userID == skip {
			continue
		}
		if mb.replaying {
			// Held back with the live messages until the joined frame is out.
			if len(mb.pending) < r.hub.opt.SendQueue {
				mb.pending = append(mb.pending, f)
			} else {
				c.dropVolatile()
			}
			continue
		}
		c.deliver(f)
	}
}
