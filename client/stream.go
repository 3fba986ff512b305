package client

import (
	"context"
	"fmt"
	"math"
	"time"
)

// handleFrame handles one frame, or the end of the socket.
func (s *Socket) handleFrame(ctx context.Context, ce connEvent) error {
	l := &s.loop
	if ce.err != nil {
		return s.disconnected(ctx, ce.err)
	}
	switch f := ce.ev.(type) {
	case *Welcome:
		s.mu.Lock()
		s.user = f.User.Username
		s.mu.Unlock()
		if len(l.rooms) == 0 {
			l.attempts = 0
		}
		s.emit(&StateChange{State: Connected, User: f.User.Username})
	case *Joined:
		s.joined(ctx, f)
	case StreamEvent:
		s.deliver(ctx, f)
	case *Ack:
		s.acked(f)
	case *Left:
		s.left(f)
	case *FrameError:
		s.frameError(f)
	case *Authed:
		delete(l.refs, ce.ref)
	case *Read:
		delete(l.refs, ce.ref)
		s.emit(f)
	case *Presence:
		s.emitFor(f.Room, f)
	case *Typing:
		s.emitFor(f.Room, f)
	case *Receipt:
		s.emitFor(f.Room, f)
	default:
		s.emit(ce.ev)
	}
	return nil
}

// emitFor emits ev when the socket is in room and not leaving it.
func (s *Socket) emitFor(room string, ev Event) {
	if r := s.loop.rooms[room]; r != nil && !r.leaving {
		s.emit(ev)
	}
}

// joined completes a join: the replay is over, live events follow. What
// the replay did not carry (truncated) is paged over REST.
func (s *Socket) joined(ctx context.Context, f *Joined) {
	l := &s.loop
	r := l.rooms[f.Room]
	if r == nil {
		return // left meanwhile
	}
	r.joined = true
	l.attempts = 0
	if r.lastSeq < 0 {
		r.lastSeq = f.LastSeq
	} else if f.LastSeq > r.lastSeq {
		s.fill(ctx, f.Room, r, f.LastSeq+1)
	}
	s.emitFor(f.Room, f)
}

// deliver emits a stream event once: seqs already delivered are dropped,
// and a gap before it is filled over REST first, so the room reads in
// order.
func (s *Socket) deliver(ctx context.Context, ev StreamEvent) {
	room, seq := ev.Position()
	r := s.loop.rooms[room]
	if r == nil || r.lastSeq < 0 || seq <= r.lastSeq {
		return
	}
	if seq > r.lastSeq+1 {
		s.fill(ctx, room, r, seq)
	}
	r.lastSeq = seq
	s.emitFor(room, ev)
}

// fill emits the messages of room with r.lastSeq < seq < before, paged over
// REST (history has messages only: other events of a truncated replay are
// not recoverable), and moves r.lastSeq to before-1.
func (s *Socket) fill(ctx context.Context, room string, r *roomState, before int64) {
	msgs, err := s.c.History(ctx, room, r.lastSeq, before, math.MaxInt)
	if err != nil {
		s.emit(&FrameError{Code: CodeInternal, Room: room,
			Message: fmt.Sprintf("could not fetch the events between %d and %d: %v", r.lastSeq, before, err)})
	}
	for i := range msgs {
		m := &msgs[i]
		m.FromHistory = true
		s.emitFor(room, m)
	}
	if err == nil {
		r.lastSeq = before - 1
	}
}

// acked answers the command with the ack's ref, whether or not the socket
// is still in its room: the ack says it is stored.
func (s *Socket) acked(f *Ack) {
	for _, p := range s.loop.pending {
		if p.ref == f.Ref {
			s.answer(p, Result{Ack: *f})
			return
		}
	}
}

// left handles a room the socket is out of: the answer to its own leave,
// or a kick, ban, REST leave or deletion.
func (s *Socket) left(f *Left) {
	if f.Reason != "" {
		if r := s.loop.rooms[f.Room]; r != nil {
			s.removeRoom(f.Room)
		}
	}
	s.emit(f)
}

// frameError handles an error frame: the answer to a join, an auth, a read
// or a command, or a complaint of the server about something else.
func (s *Socket) frameError(f *FrameError) {
	l := &s.loop
	if k, ok := l.refs[f.Ref]; ok {
		delete(l.refs, f.Ref)
		switch k.typ {
		case "join":
			s.joinFailed(k.room, f)
		case "read":
			if r := l.rooms[k.room]; r != nil && f.Code == CodeRateLimited {
				r.readSent = 0
				l.holdUntil = time.Now().Add(rateLimitPause)
			}
		default:
			s.emit(f)
		}
		return
	}
	for _, p := range l.pending {
		if p.ref != f.Ref {
			continue
		}
		// Refusals the command may get past are retried while the socket
		// is in the room; else the refusal is its result.
		p.sent = false
		r := l.rooms[p.room]
		switch f.Code {
		case CodeRateLimited:
			l.holdUntil = time.Now().Add(rateLimitPause)
			return
		case CodeNotJoined:
			if r != nil {
				r.joinSent, r.joined = false, false
				return
			}
		case CodeInternal:
			if p.tries++; p.tries < maxTries && r != nil {
				l.holdUntil = time.Now().Add(internalPause)
				return
			}
		}
		s.answer(p, Result{Err: p.refused(f)})
		return
	}
	s.emit(f)
}

// joinFailed handles an error answering a join.
func (s *Socket) joinFailed(room string, f *FrameError) {
	l := &s.loop
	r := l.rooms[room]
	if r == nil {
		return
	}
	switch f.Code {
	case CodeRateLimited:
		r.joinSent = false
		l.holdUntil = time.Now().Add(rateLimitPause)
		return
	case CodeInvalidSince:
		// The room is behind what this socket saw: the server lost events
		// (a restore). Carry on from its present.
		r.lastSeq, r.joinSent = -1, false
		s.emit(f)
		return
	}
	s.removeRoom(room)
	s.emit(f)
}
