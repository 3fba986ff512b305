package hub

import (
	"context"
	"slices"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

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
func (r *room) addMemberLocked(c *Client) *member {
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
		// Queued under the room's lock, so a user's join and leave reach
		// the other nodes in the order they happened here.
		r.publishLocked(chat.Event{Kind: chat.EventPresence, Room: r.name, UserID: c.userID, Username: c.username, Presence: chat.PresenceJoin})
	}
	return mb
}

// leave removes c's membership and releases the room.
func (r *room) leave(c *Client, mb *member) {
	r.mu.Lock()
	left := r.leaveLocked(c, mb)
	r.mu.Unlock()
	if !left {
		return
	}
	r.flushOutbox()
	r.hub.releaseRoom(r)
}

// leaveLocked removes c's membership, telling the room when its user left,
// and reports whether mb was still c's membership.
func (r *room) leaveLocked(c *Client, mb *member) bool {
	if r.members[c] != mb {
		return false
	}
	delete(r.members, c)
	if p := r.users[c.userID]; p != nil {
		p.n--
		if p.n == 0 {
			count := r.presentCountLocked()
			delete(r.users, c.userID)
			r.forgetAccessLocked(c.userID)
			if len(r.remote[c.userID]) == 0 && count <= r.hub.opt.PresenceMaxMembers {
				r.broadcastLocked(chat.PresenceFrame{Type: chat.TypePresence, Room: r.name, User: c.username, UserID: c.userID, Event: chat.PresenceLeave}, c.userID)
			}
			r.publishLocked(chat.Event{Kind: chat.EventPresence, Room: r.name, UserID: c.userID, Username: c.username, Presence: chat.PresenceLeave})
		}
	}
	return true
}

// publishLocked queues ev for the other nodes; the caller calls
// flushOutbox once it has released mu.
func (r *room) publishLocked(ev chat.Event) {
	if r.hub.opt.Broker != nil {
		r.outbox = append(r.outbox, ev)
	}
}

// flushOutbox publishes the queued presence changes in the order they were
// queued, with mu released: a broker that hands an event to another hub on
// the publishing goroutine (the in-process one) takes that hub's room
// lock. Whoever holds pubMu publishes everything queued so far, so two
// goroutines flushing one room keep the order.
func (r *room) flushOutbox() {
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	r.mu.Lock()
	evs := r.outbox
	r.outbox = nil
	r.mu.Unlock()
	for _, ev := range evs {
		r.hub.publish(context.Background(), ev)
	}
}

// relayTyping tells the other members that a user is typing, at most once
// per typingInterval per user. from is nil for a notice from another node.
func (r *room) relayTyping(from *Client, userID, username string) bool {
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
