package hub

import (
	"context"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Receipts. In a room of at most Options.ReceiptsMaxMembers members, a
// read tells the room's other members, on every node, how far the user has
// read. Receipts are volatile, like typing: a socket that falls behind
// loses them and is never closed for them.
//
// Each node coalesces the receipts of one user in one room, whatever node
// they were read on: the first goes out at once, and while receiptInterval
// has not passed since, only the newest is kept and goes out when it has.
// So a socket gets at most one receipt per user and room a second, the
// newest. A receipt read on this node is also published to the other nodes
// when it goes out (so at most once a second per node); a node that
// receives one coalesces it with the others for its own sockets.

// receiptInterval is the least time between two receipts of one user in
// one room.
const receiptInterval = time.Second

// receiptSlot coalesces the receipts of one user in one room. Guarded by
// readState.mu.
type receiptSlot struct {
	seq      int64     // newest seq offered
	username string    // of the user who read
	sentAt   time.Time // when the last receipt went out
	pending  bool      // seq waits for the interval to pass
	local    bool      // the waiting seq was read on this node: publish it
	timer    *time.Timer
}

// offerReceipt offers the receipt of k's user at seq, read on this node
// (local) or another. It goes out now, later as the newest of its
// interval, or not at all when a newer one was offered or the room is over
// the receipt limit.
func (s *readState) offerReceipt(k readKey, username string, seq int64, local bool) {
	if !s.h.receiptsOn(k.room) {
		return
	}
	now := s.h.opt.Now()
	s.mu.Lock()
	sl := s.receipts[k]
	if sl == nil {
		sl = &receiptSlot{}
		s.receipts[k] = sl
	}
	if seq <= sl.seq {
		s.mu.Unlock()
		return
	}
	sl.seq, sl.username = seq, username
	if !sl.pending && now.Sub(sl.sentAt) >= receiptInterval {
		sl.sentAt = now
		s.mu.Unlock()
		s.sendReceipt(k, username, seq, local)
		return
	}
	sl.local = local
	if !sl.pending {
		sl.pending = true
		wait := receiptInterval - now.Sub(sl.sentAt)
		sl.timer = time.AfterFunc(wait, func() { s.h.background(func() { s.flushReceipt(k) }) })
	}
	s.mu.Unlock()
}

// flushReceipt sends the receipt that waited for its interval.
func (s *readState) flushReceipt(k readKey) {
	s.mu.Lock()
	sl := s.receipts[k]
	if sl == nil || !sl.pending {
		s.mu.Unlock()
		return
	}
	sl.pending, sl.timer = false, nil
	sl.sentAt = s.h.opt.Now()
	username, seq, local := sl.username, sl.seq, sl.local
	s.mu.Unlock()
	s.sendReceipt(k, username, seq, local)
}

// sendReceipt queues the receipt for the room's members on this node but
// the reader's own sockets, and publishes it when it was read here.
func (s *readState) sendReceipt(k readKey, username string, seq int64, local bool) {
	h := s.h
	r := h.lookupRoom(k.room)
	if r == nil {
		return
	}
	r.mu.Lock()
	on := r.acc.info.MemberCount <= int64(h.opt.ReceiptsMaxMembers)
	if on {
		r.broadcastLocked(chat.ReceiptFrame{Type: chat.TypeReceipt, Room: k.room, User: username, UserID: k.user, Seq: seq}, k.user)
	}
	r.mu.Unlock()
	if on && local {
		h.publish(context.Background(), chat.Event{Kind: chat.EventReceipt, Room: k.room, UserID: k.user, Username: username, Seq: seq})
	}
}

// receiptsOn reports whether the room has members on this node and at
// most ReceiptsMaxMembers members.
func (h *Hub) receiptsOn(name string) bool {
	r := h.lookupRoom(name)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acc.info.MemberCount <= int64(h.opt.ReceiptsMaxMembers)
}
