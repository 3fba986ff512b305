package hub

import (
	"context"

	"github.com/chatsvc/chat/internal/chat"
)

// hintState tracks what the broker said another node stored in a room.
// Guarded by room.mu.
//
// A message event from the broker is a hint, not content: it says the
// room's seq n is stored. What the members get is what the store holds,
// read after the newest delivered seq up to the newest hinted one, so no
// event on the broker, however it got there, can put words in anyone's
// mouth or take a seq from the message the store holds for it. One read
// runs per room at a time, and it covers every hint that arrived while the
// previous one ran: under load a read carries many messages.
//
// Hint reads are live delivery, not backlog: they are not paced by the
// members' queues. A hinted gap wider than catchUpChunk is a backlog (the
// broker was away, or this node was slow), and is handed to the paced gap
// fill (room.catchUp) instead.
type hintState struct {
	seq     int64 // newest seq the broker said is stored
	reading bool  // a readHinted goroutine runs
}

// hint records that another node stored the room's message seq and starts
// a store read when it is news.
func (r *room) hint(seq int64) {
	r.mu.Lock()
	if seq > r.hinted.seq {
		r.hinted.seq = seq
	}
	r.startHintReadLocked()
	r.mu.Unlock()
}

// startHintReadLocked starts the room's hint read when a hinted seq is past
// the newest delivered one and no read or gap fill runs; the end of a fill
// and setLastLocked call it again.
func (r *room) startHintReadLocked() {
	if !r.ready || r.hinted.reading || r.fill.running || r.hinted.seq <= r.last {
		return
	}
	if r.hinted.seq-r.last > catchUpChunk {
		r.hub.background(func() { r.catchUp(0) })
		return
	}
	r.hinted.reading = true
	r.hub.background(r.readHinted)
}

// readHinted reads the hinted messages from the store and delivers them in
// order, until nothing hinted is left undelivered, the store has nothing
// more, or a gap fill took over.
func (r *room) readHinted() {
	for {
		r.mu.Lock()
		after, upTo := r.last, r.hinted.seq
		if upTo <= after || r.fill.running {
			r.hinted.reading = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), fillReadTimeout)
		msgs, _, err := r.hub.opt.Store.After(ctx, r.name, after, min(upTo, after+catchUpChunk), catchUpChunk)
		cancel()
		r.mu.Lock()
		if err != nil {
			r.hub.log.Warn("room read after broker event failed", "room", r.name, "err", err)
			// The gap timer reads the store again later.
			r.hinted.reading = false
			r.armGapTimerLocked()
			r.mu.Unlock()
			return
		}
		r.hub.m.HintedTotal.Add(float64(len(msgs)))
		r.deliverStoredLocked(msgs)
		if r.last == after {
			// The store holds nothing after the newest delivered seq: the
			// hint named a seq that is not stored (or not yet visible);
			// forget it. A later hint or the gap timer reads again.
			r.hinted.seq = r.last
		}
		removed := r.releases > 0
		r.mu.Unlock()
		if removed {
			r.settle()
		}
	}
}

// deliverStoredLocked delivers messages read from the store, in seq order,
// through the room's ordered path.
func (r *room) deliverStoredLocked(msgs []chat.Message) {
	for _, m := range msgs {
		r.deliverLocked(m)
	}
}
