package hub

import (
	"context"
	"encoding/json"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Room access on this node.
//
// A room knows its kind and the memberships (state and mute) of the users
// with sockets in it here, so that send, typing and edit frames are
// authorized by chat.Authorize without a store read. What it knows comes
// from the store when a socket joins and is then kept current by the room's
// own member events, which every node delivers in seq order (from the
// broker or, after a gap, from the store), so a mute or a kick made on any
// node holds here for the next frame once its event is delivered.
//
// A membership read from the store while a member event of the room was on
// its way could miss that event, so a read is kept only when no member
// event was delivered in the room between its start and its end (gen);
// otherwise it answers the one frame that asked and is read again next time.
// Events delivered after a read that already reflects them are applied
// again, which changes nothing: each sets a state outright.
type roomAccess struct {
	info    chat.Room              // kind and member count; set by every join here
	members map[string]chat.Member // by user id: the users with sockets here
	gen     uint64                 // member events delivered
}

// accessGen returns the room's member-event count, to pass to remember.
func (r *room) accessGen() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acc.gen
}

// rememberLocked records what a join read from the store: the room, and
// the joiner's membership when no member event arrived since gen.
func (r *room) rememberLocked(res chat.JoinResult, gen uint64) {
	r.acc.info = res.Room
	if r.acc.gen != gen || res.Member.UserID == "" {
		return
	}
	if r.acc.members == nil {
		r.acc.members = make(map[string]chat.Member)
	}
	r.acc.members[res.Member.UserID] = res.Member
}

// forgetAccessLocked drops what the room knows of a user whose last socket
// here left it.
func (r *room) forgetAccessLocked(userID string) { delete(r.acc.members, userID) }

// applyMemberLocked keeps the room's knowledge current with a member event
// delivered in seq order, and takes the user's sockets out of the room
// when the event ends their membership: each gets the event, then left.
func (r *room) applyMemberLocked(m chat.Message) {
	r.acc.gen++
	mb, known := r.acc.members[m.UserID]
	switch m.Change {
	case chat.ChangeMuted:
		mb.MutedUntil = m.Until
	case chat.ChangeUnmuted:
		mb.MutedUntil = time.Time{}
	case chat.ChangeJoined:
		r.acc.info.MemberCount++
		known = false
	case chat.ChangeKicked, chat.ChangeBanned, chat.ChangeLeft:
		r.acc.info.MemberCount = max(r.acc.info.MemberCount-1, 0)
		known = false
		r.removeUserLocked(m.UserID, m.Change)
	default:
		known = false // read again when next asked
	}
	if known {
		r.acc.members[m.UserID] = mb
	} else {
		delete(r.acc.members, m.UserID)
	}
}

// removeUserLocked takes every socket of userID (every socket when userID
// is empty) out of the room, each with a final left frame carrying reason
// after its last delivery from the room, and reports how many it took out.
// The room is released once for each by settle, after mu is released.
//
// The socket's reader owns its memberships, so each is only marked
// removed; the reader forgets it the next time it looks (Client.member).
func (r *room) removeUserLocked(userID, reason string) int {
	var gone []*member
	for c, mb := range r.members {
		if userID == "" || c.userID == userID {
			gone = append(gone, mb)
		}
	}
	if len(gone) == 0 {
		return 0
	}
	b, err := json.Marshal(chat.LeftFrame{Type: chat.TypeLeft, Room: r.name, Reason: reason})
	if err != nil {
		return 0
	}
	left := Frame{Kind: KindData, Data: b}
	for _, mb := range gone {
		r.leaveLocked(mb.conn, mb)
		mb.removed.Store(true)
		if mb.replaying {
			// Sent after the joined frame, behind what it holds.
			mb.pending = append(mb.pending, left)
			continue
		}
		mb.conn.deliver(left)
	}
	r.releases += len(gone)
	return len(gone)
}

// settle publishes the room's queued presence changes and releases the
// room once for each socket removeUserLocked took out. The caller holds no
// lock.
func (r *room) settle() {
	r.mu.Lock()
	n := r.releases
	r.releases = 0
	r.mu.Unlock()
	r.flushOutbox()
	for range n {
		r.hub.releaseRoom(r)
	}
}

// authorize asks chat.Authorize whether c may take action in the room of
// mb, from what the room knows of c's membership (read from the store when
// it knows nothing). The error is the contract's (muted, forbidden,
// room_not_found) or, when the store failed, internal.
func (c *Client) authorize(mb *member, action chat.Action) error {
	r := mb.room
	r.mu.Lock()
	m, ok := r.acc.members[c.userID]
	info, gen := r.acc.info, r.acc.gen
	r.mu.Unlock()
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		var err error
		if m, err = c.hub.opt.Store.Membership(ctx, r.name, c.userID); err != nil {
			c.storeFailed("authorize: membership", r.name, err)
			return chat.Errorf(chat.CodeInternal, "could not check your membership; try again")
		}
		r.mu.Lock()
		if r.acc.gen == gen && r.users[c.userID] != nil {
			if r.acc.members == nil {
				r.acc.members = make(map[string]chat.Member)
			}
			r.acc.members[c.userID] = m
		}
		r.mu.Unlock()
	}
	actor := chat.Actor{UserID: c.userID, ServerAdmin: c.hub.serverAdmin(c.username), Member: m}
	return chat.Authorize(info, actor, action, chat.Target{UserID: c.userID}, c.hub.opt.Now())
}

// allowed authorizes action for frame f in the room of mb, answering a
// refusal with an error frame after the socket's earlier outcomes.
func (c *Client) allowed(f chat.ClientFrame, mb *member, action chat.Action) bool {
	err := c.authorize(mb, action)
	if err == nil {
		return true
	}
	c.refuse(f, err)
	return false
}
