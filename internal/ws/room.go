package ws

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/gorilla/websocket"
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
	members  map[*conn]*member
	users    map[string]*presence // local sockets per user
	stash    map[int64]chat.Message
	gapTimer *time.Timer
	gapArmed bool // gapTimer runs; it is not moved until it fires
	typing   map[string]time.Time
	// remote lists the users present on other nodes: user id -> node ->
	// username. Kept from presence events and, once, from the broker.
	remote       map[string]map[string]string
	presenceOnce sync.Once
	presenceGen  uint64 // counts remote presence changes
}

// presence counts one user's sockets in a room on this node.
type presence struct {
	username string
	n        int
}

// member is one socket's membership of a room.
type member struct {
	room      *room
	conn      *conn
	replaying bool
	pending   []outFrame
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
			members: make(map[*conn]*member),
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
}

// deliver hands a stored message to every member in seq order. A message
// already delivered is dropped; one that comes early waits in the stash
// until the gap before it is filled, from the store if need be.
func (r *room) deliver(m chat.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready {
		r.stashLocked(m)
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

// catchUp reads from the store the messages after the newest delivered one
// (up to upTo when positive) and delivers them.
func (r *room) catchUp(upTo int64) {
	h := r.hub
	for {
		r.mu.Lock()
		if !r.ready {
			r.mu.Unlock()
			return
		}
		after := r.last
		r.mu.Unlock()
		if upTo > 0 && after >= upTo {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		msgs, _, err := h.opt.Store.After(ctx, r.name, after, after+catchUpChunk, catchUpChunk)
		cancel()
		if err != nil {
			h.log.Warn("room catch-up failed", "room", r.name, "err", err)
			r.mu.Lock()
			if len(r.stash) > 0 {
				r.armGapTimerLocked()
			}
			r.mu.Unlock()
			return
		}
		h.m.BackfilledTotal.Add(float64(len(msgs)))
		for _, m := range msgs {
			r.deliver(m)
		}
		if len(msgs) < catchUpChunk {
			return
		}
	}
}

// fanoutLocked encodes m once and queues it for every member.
func (r *room) fanoutLocked(m chat.Message) {
	r.last = m.Seq
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
		c.enqueue(f)
	}
}

// messageFrame encodes the frame that delivers m, prepared once for every
// socket whatever its compression.
func messageFrame(m chat.Message) (outFrame, error) {
	b, err := json.Marshal(chat.StreamFrame(m))
	if err != nil {
		return outFrame{}, err
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		return outFrame{}, err
	}
	return outFrame{pm: pm, size: len(b), kind: kindMessage, ts: m.TS.UnixNano()}, nil
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
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		return
	}
	f := outFrame{pm: pm, size: len(b), kind: kindVolatile}
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
		c.enqueue(f)
	}
}

// memberNamesLocked lists the users present on every node, at most
// maxMembersListed.
func (r *room) memberNamesLocked() []string {
	names := make([]string, 0, min(len(r.users)+len(r.remote), maxMembersListed))
	for _, p := range r.users {
		if len(names) == maxMembersListed {
			break
		}
		names = append(names, p.username)
	}
	for id, nodes := range r.remote {
		if len(names) == maxMembersListed {
			break
		}
		if r.users[id] != nil {
			continue
		}
		for _, name := range nodes {
			names = append(names, name)
			break
		}
	}
	slices.Sort(names)
	return names
}

// presentCountLocked is the number of users present on every node, counting
// a user present on several nodes once per place.
func (r *room) presentCountLocked() int { return len(r.users) + len(r.remote) }

// loadPresence learns, once, who is present in the room on other nodes.
func (r *room) loadPresence() {
	src, ok := r.hub.opt.Broker.(PresenceSource)
	if !ok {
		return
	}
	r.presenceOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		users, err := src.RoomPresence(ctx, r.name)
		if err != nil {
			r.hub.log.Warn("read room presence", "room", r.name, "err", err)
			return
		}
		r.mu.Lock()
		for _, u := range users {
			r.addRemoteLocked(u.Node, u.UserID, u.Username)
		}
		r.mu.Unlock()
	})
}

// addRemoteLocked records userID present on node and reports whether the
// user was absent from the room on every node before.
//
// The record is bounded, as its input comes from other nodes: past
// maxRemoteUsers users, or maxRemoteNodes nodes for one user, a newcomer is
// not recorded (and not announced).
func (r *room) addRemoteLocked(node, userID, username string) bool {
	nodes := r.remote[userID]
	if nodes == nil && len(r.remote) >= r.hub.maxRemoteUsers() ||
		len(nodes) >= maxRemoteNodes && nodes[node] == "" {
		return false
	}
	arrived := len(nodes) == 0 && r.users[userID] == nil
	if nodes == nil {
		if r.remote == nil {
			r.remote = make(map[string]map[string]string)
		}
		nodes = make(map[string]string, 1)
		r.remote[userID] = nodes
	}
	nodes[node] = username
	return arrived
}

// removeRemoteLocked forgets userID on node and reports whether the user is
// now absent from the room on every node.
func (r *room) removeRemoteLocked(node, userID string) bool {
	nodes := r.remote[userID]
	if _, ok := nodes[node]; !ok {
		return false
	}
	delete(nodes, node)
	if len(nodes) > 0 {
		return false
	}
	delete(r.remote, userID)
	return r.users[userID] == nil
}

// addMemberLocked adds c and reports whether its user just arrived.
func (r *room) addMemberLocked(c *conn) *member {
	mb := &member{room: r, conn: c}
	r.members[c] = mb
	p := r.users[c.userID]
	if p == nil {
		p = &presence{username: c.username}
		r.users[c.userID] = p
	}
	p.n++
	if p.n == 1 {
		if len(r.remote[c.userID]) == 0 && r.presentCountLocked() <= r.hub.opt.PresenceMaxMembers {
			r.broadcastLocked(chat.PresenceFrame{Type: chat.TypePresence, Room: r.name, User: c.username, UserID: c.userID, Event: chat.PresenceJoin}, c.userID)
		}
		// Published under the room's lock, so a user's join and leave
		// reach the other nodes in the order they happened here.
		r.hub.publish(context.Background(), chat.Event{Kind: chat.EventPresence, Room: r.name, UserID: c.userID, Username: c.username, Presence: chat.PresenceJoin})
	}
	return mb
}

// leave removes c's membership and releases the room.
func (r *room) leave(c *conn, mb *member) {
	r.mu.Lock()
	if r.members[c] != mb {
		r.mu.Unlock()
		return
	}
	delete(r.members, c)
	if p := r.users[c.userID]; p != nil {
		p.n--
		if p.n == 0 {
			count := r.presentCountLocked()
			delete(r.users, c.userID)
			if len(r.remote[c.userID]) == 0 && count <= r.hub.opt.PresenceMaxMembers {
				r.broadcastLocked(chat.PresenceFrame{Type: chat.TypePresence, Room: r.name, User: c.username, UserID: c.userID, Event: chat.PresenceLeave}, c.userID)
			}
			r.hub.publish(context.Background(), chat.Event{Kind: chat.EventPresence, Room: r.name, UserID: c.userID, Username: c.username, Presence: chat.PresenceLeave})
		}
	}
	r.mu.Unlock()
	r.hub.releaseRoom(r)
}

// relayTyping tells the other members that a user is typing, at most once
// per typingInterval per user. from is nil for a notice from another node.
func (r *room) relayTyping(from *conn, userID, username string) bool {
	now := r.hub.opt.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.typing[userID]; ok && now.Sub(t) < typingInterval {
		return false
	}
	if r.typing == nil {
		r.typing = make(map[string]time.Time)
	}
	for u, t := range r.typing {
		if now.Sub(t) >= typingInterval {
			delete(r.typing, u)
		}
	}
	r.typing[userID] = now
	r.broadcastLocked(chat.TypingFrame{Type: chat.TypeTyping, Room: r.name, From: username, FromID: userID}, userID)
	return true
}

// remotePresence applies a presence change that happened on another node,
// and tells the local members when the user arrived or left the room as a
// whole.
func (r *room) remotePresence(node, userID, username, event string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.presenceGen++
	var changed bool
	count := r.presentCountLocked()
	if event == chat.PresenceLeave {
		changed = r.removeRemoteLocked(node, userID)
	} else {
		changed = r.addRemoteLocked(node, userID, username)
		count++
	}
	if changed && count <= r.hub.opt.PresenceMaxMembers {
		r.broadcastLocked(chat.PresenceFrame{Type: chat.TypePresence, Room: r.name, User: username, UserID: userID, Event: event}, userID)
	}
}

// nodeGone forgets the users present on a node that stopped answering; the
// ones present nowhere else have left.
func (r *room) nodeGone(node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for userID, nodes := range r.remote {
		username, ok := nodes[node]
		if !ok {
			continue
		}
		count := r.presentCountLocked()
		if r.removeRemoteLocked(node, userID) && count <= r.hub.opt.PresenceMaxMembers {
			r.broadcastLocked(chat.PresenceFrame{Type: chat.TypePresence, Room: r.name, User: username, UserID: userID, Event: chat.PresenceLeave}, userID)
		}
	}
}

// refreshPresence reads the room's presence on other nodes again, as after
// the broker was away, and tells the local members who arrived and who
// left meanwhile. A user is only counted gone when no presence event came in
// while the list was read.
func (r *room) refreshPresence() {
	src, ok := r.hub.opt.Broker.(PresenceSource)
	if !ok {
		return
	}
	r.mu.Lock()
	gen := r.presenceGen
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	users, err := src.RoomPresence(ctx, r.name)
	cancel()
	if err != nil {
		r.hub.log.Warn("read room presence", "room", r.name, "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	listed := make(map[[2]string]bool, len(users))
	for _, u := range users {
		listed[[2]string{u.Node, u.UserID}] = true
		count := r.presentCountLocked() + 1
		if r.addRemoteLocked(u.Node, u.UserID, u.Username) && count <= r.hub.opt.PresenceMaxMembers {
			r.broadcastLocked(chat.PresenceFrame{Type: chat.TypePresence, Room: r.name, User: u.Username, UserID: u.UserID, Event: chat.PresenceJoin}, u.UserID)
		}
	}
	if gen != r.presenceGen {
		return
	}
	for userID, nodes := range r.remote {
		for node, username := range nodes {
			if listed[[2]string{node, userID}] {
				continue
			}
			count := r.presentCountLocked()
			if r.removeRemoteLocked(node, userID) && count <= r.hub.opt.PresenceMaxMembers {
				r.broadcastLocked(chat.PresenceFrame{Type: chat.TypePresence, Room: r.name, User: username, UserID: userID, Event: chat.PresenceLeave}, userID)
			}
		}
	}
}

// announcePresence publishes again the presence of every local user, for
// the nodes that may have lost it.
func (r *room) announcePresence() {
	r.mu.Lock()
	evs := make([]chat.Event, 0, len(r.users))
	for id, p := range r.users {
		evs = append(evs, chat.Event{Kind: chat.EventPresence, Room: r.name, UserID: id, Username: p.username, Presence: chat.PresenceJoin})
	}
	r.mu.Unlock()
	for _, ev := range evs {
		r.hub.publish(context.Background(), ev)
	}
}
