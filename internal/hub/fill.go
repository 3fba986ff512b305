package hub

import (
	"context"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Pacing of a gap fill.
const (
	// fillStall bounds how long a gap fill waits for the members' queues to
	// take its next step. Past it the step is queued anyway, and a member
	// whose queue is still full (one that does not read) is closed as a
	// slow consumer.
	fillStall = 5 * time.Second
	// fillPollMax is the longest pause between two looks at the members'
	// queues while a gap fill waits for them.
	fillPollMax = 20 * time.Millisecond
	// fillReadTimeout bounds one store read of a gap fill.
	fillReadTimeout = 10 * time.Second
)

// fillState says whether a gap fill runs for a room. Guarded by room.mu.
type fillState struct {
	running bool // a catchUp reads and releases the room's backlog
	again   bool // a fill was asked for while one ran: read the store again
	// stalled lists the members that took nothing for fillStall: the rest
	// of the fill does not wait for them, so a socket that does not read
	// holds the room back once, and its queue overflows (4008).
	stalled map[*Client]bool
}

// catchUp reads from the store the messages after the newest delivered one
// (up to upTo when positive) and delivers them at the pace the members'
// queues take them, a step at a time, so a large backlog (after a broker
// outage) reaches a busy room without closing its members as slow
// consumers.
//
// One fill runs per room. Asked for while one runs, catchUp(0) only makes
// the running one read the store again before it ends; catchUp(upTo) (a
// join) waits until the room has delivered upTo or takes over a fill that
// ended short of it. Live messages that arrive meanwhile wait in the stash
// (or, past it, in the store), so every member's stream stays gapless and
// in order.
func (r *room) catchUp(upTo int64) {
	if !r.startFill(upTo) {
		return
	}
	for {
		if !r.fillFromStore(upTo) {
			// What is held in order still goes out; the gap timer reads
			// the store again for the rest.
			r.finishFill(upTo, true)
			return
		}
		if r.finishFill(upTo, false) {
			return
		}
		upTo = 0
	}
}

// startFill reports whether the caller runs the room's gap fill. A join
// (upTo > 0) waits for a running fill to deliver upTo; anything else leaves
// the work to the running fill.
func (r *room) startFill(upTo int64) bool {
	pause := time.Millisecond
	for {
		r.mu.Lock()
		switch {
		case !r.ready || (upTo > 0 && r.last >= upTo):
			r.mu.Unlock()
			return false
		case !r.fill.running:
			r.fill.running = true
			r.mu.Unlock()
			return true
		case upTo <= 0:
			r.fill.again = true
			r.mu.Unlock()
			return false
		}
		r.mu.Unlock()
		time.Sleep(pause)
		pause = min(2*pause, fillPollMax)
	}
}

// fillFromStore reads the store after the newest delivered seq, a chunk at
// a time, up to upTo (to its end when upTo is 0), and releases each chunk.
// It reports false when the store failed.
func (r *room) fillFromStore(upTo int64) bool {
	h := r.hub
	for {
		r.mu.Lock()
		after := r.last
		r.mu.Unlock()
		if upTo > 0 && after >= upTo {
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), fillReadTimeout)
		msgs, _, err := h.opt.Store.After(ctx, r.name, after, after+catchUpChunk, catchUpChunk)
		cancel()
		if err != nil {
			h.log.Warn("room catch-up failed", "room", r.name, "err", err)
			return false
		}
		h.m.BackfilledTotal.Add(float64(len(msgs)))
		r.release(msgs)
		r.mu.Lock()
		stuck := r.last == after
		r.mu.Unlock()
		if len(msgs) < catchUpChunk || stuck {
			// The store's end, or a hole in it the stash waits for.
			return true
		}
	}
}

// finishFill delivers, a step at a time, the live messages held while the
// fill ran, then ends the fill. It reports false when the fill must read
// the store again first: another fill was asked for meanwhile (and the
// store did not just fail).
func (r *room) finishFill(upTo int64, failed bool) bool {
	step := r.fillStep()
	for {
		r.mu.Lock()
		if r.fill.again && upTo <= 0 && !failed {
			r.fill.again = false
			r.mu.Unlock()
			return false
		}
		if r.drainStepLocked(step) < step {
			again := r.fill.again && !failed
			r.fill = fillState{}
			// Nothing more in order: forget what was delivered, and wait
			// for the gap before what is left.
			r.drainStashLocked()
			r.startHintReadLocked()
			r.unlockStep()
			if again {
				r.hub.background(func() { r.catchUp(0) })
			}
			return true
		}
		r.unlockStep()
		r.lockWithRoom(step)
		r.mu.Unlock()
	}
}

// release delivers msgs, read from the store in seq order, a step at a
// time, each once the members' queues have room for it.
func (r *room) release(msgs []chat.Message) {
	step := r.fillStep()
	for len(msgs) > 0 {
		r.mu.Lock()
		for len(msgs) > 0 && msgs[0].Seq <= r.last {
			msgs = msgs[1:]
		}
		r.mu.Unlock()
		if len(msgs) == 0 {
			return
		}
		n := min(step, len(msgs))
		r.lockWithRoom(n)
		for _, m := range msgs[:n] {
			r.fillLocked(m)
		}
		r.unlockStep()
		msgs = msgs[n:]
	}
}

// unlockStep releases r.mu after a step of a fill delivered messages, and
// settles the sockets that member events among them took out of the room,
// as deliver does.
func (r *room) unlockStep() {
	removed := r.releases > 0
	r.mu.Unlock()
	if removed {
		r.settle()
	}
}

// fillStep is how many messages a gap fill queues for each member at once.
func (r *room) fillStep() int { return max(1, r.hub.opt.SendQueue/4) }

// lockWithRoom locks r.mu once n more frames fill no member's queue past
// half, which leaves the other half to its acknowledgements and other
// rooms, or once fillStall has passed without that: the members still
// without room are then stalled. It waits without the lock.
func (r *room) lockWithRoom(n int) {
	limit := max(0, r.hub.opt.SendQueue/2-n)
	deadline := time.Now().Add(fillStall)
	pause := time.Millisecond
	for {
		r.mu.Lock()
		full := r.fullMembersLocked(limit)
		if len(full) == 0 {
			return
		}
		if !time.Now().Before(deadline) {
			if r.fill.stalled == nil {
				r.fill.stalled = make(map[*Client]bool)
			}
			for _, c := range full {
				r.fill.stalled[c] = true
			}
			return
		}
		r.mu.Unlock()
		time.Sleep(pause)
		pause = min(2*pause, fillPollMax)
	}
}

// fullMembersLocked returns the members, stalled ones aside, that have
// more than limit frames waiting: in their socket's queue, and held back
// while their replay is written.
func (r *room) fullMembersLocked(limit int) []*Client {
	var full []*Client
	for c, mb := range r.members {
		if r.fill.stalled[c] {
			continue
		}
		q := c.sock.Queued()
		if mb.replaying {
			q += len(mb.pending)
		}
		if q > limit {
			full = append(full, c)
		}
	}
	return full
}

// fillLocked delivers m, read from the store, when it is the next seq.
func (r *room) fillLocked(m chat.Message) {
	switch {
	case m.Seq <= r.last:
		return
	case m.Seq > r.last+1:
		r.stashLocked(m)
		return
	}
	delete(r.stash, m.Seq)
	r.fanoutLocked(m)
}

// holdLocked takes a live message while a gap fill runs: the next seq is
// delivered at once, a later one waits in the stash for the fill to reach
// it, so the fill alone sets the pace of a backlog.
func (r *room) holdLocked(m chat.Message) {
	switch {
	case m.Seq <= r.last:
	case m.Seq == r.last+1:
		delete(r.stash, m.Seq)
		r.fanoutLocked(m)
	default:
		r.stashLocked(m)
	}
}

// drainStepLocked delivers up to n held messages that follow the newest
// delivered seq and reports how many it delivered.
func (r *room) drainStepLocked(n int) int {
	if !r.ready {
		return 0
	}
	for i := range n {
		m, ok := r.stash[r.last+1]
		if !ok {
			return i
		}
		delete(r.stash, m.Seq)
		r.fanoutLocked(m)
	}
	return n
}
