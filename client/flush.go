package client

import "time"

// handleRequest carries out a call of a Socket method.
func (s *Socket) handleRequest(r request) {
	l := &s.loop
	switch r.kind {
	case reqJoin:
		if st := l.rooms[r.room]; st != nil {
			st.leaving = false
			return
		}
		l.rooms[r.room] = &roomState{lastSeq: max(r.since, -1)}
		l.order = append(l.order, r.room)
	case reqLeave:
		if st := l.rooms[r.room]; st != nil {
			st.leaving = true
		}
	case reqCommand:
		l.pending = append(l.pending, r.cmd)
	case reqRead:
		if st := l.rooms[r.room]; st != nil {
			st.readWant = max(st.readWant, r.since)
		}
	case reqTyping:
		if st := l.rooms[r.room]; st != nil && st.joined {
			s.write(outFrame{Type: "typing", Room: r.room})
		}
	}
}

// flush writes what is due on the socket: joins, leaves of rooms whose
// commands are answered, read markers, and the next command. Commands go
// one at a time, each after the previous one's answer, so they are stored
// in the order made.
func (s *Socket) flush() {
	l := &s.loop
	if l.conn == nil || l.broken {
		return
	}
	if tok, _ := s.c.accessToken(); tok != l.authToken {
		ref := newRef()
		l.refs[ref] = refKind{typ: "auth"}
		if !s.write(outFrame{Type: "auth", Token: tok, Ref: ref}) {
			return
		}
		l.authToken = tok
	}
	if time.Now().Before(l.holdUntil) {
		return
	}
	for _, name := range append([]string(nil), l.order...) {
		if !s.flushRoom(name) {
			return
		}
	}
	s.flushCommand()
}

// flushRoom writes the join, leave or read marker due for a room and
// reports whether the socket still takes writes.
func (s *Socket) flushRoom(name string) bool {
	l := &s.loop
	r := l.rooms[name]
	if r.leaving && !s.hasPending(name) {
		s.removeRoom(name)
		return !r.joinSent || s.write(outFrame{Type: "leave", Room: name})
	}
	if !r.joinSent {
		f := outFrame{Type: "join", Room: name, Ref: newRef()}
		if r.lastSeq >= 0 {
			since := r.lastSeq
			f.Since = &since
		}
		l.refs[f.Ref] = refKind{typ: "join", room: name}
		if !s.write(f) {
			return false
		}
		r.joinSent = true
	}
	if now := time.Now(); r.joined && r.readWant > r.readSent && !now.Before(r.readAt) {
		r.readAt = now.Add(readEvery)
		seq := r.readWant
		f := outFrame{Type: "read", Room: name, Seq: &seq, Ref: newRef()}
		l.refs[f.Ref] = refKind{typ: "read", room: name}
		if !s.write(f) {
			return false
		}
		r.readSent = seq
	}
	return true
}

// flushCommand writes the oldest unanswered command once its room is
// joined. A command written on this socket waits for its answer, even when
// the socket is out of its room by now; one not written here, for a room
// the socket is not in, is answered at once (see outOfRoom).
func (s *Socket) flushCommand() {
	l := &s.loop
	for len(l.pending) > 0 {
		p := l.pending[0]
		if p.sent {
			return
		}
		r := l.rooms[p.room]
		if r == nil {
			s.answer(p, Result{Err: p.outOfRoom()})
			continue
		}
		if !r.joined {
			return
		}
		f := outFrame{Type: p.typ, Room: p.room, Text: p.text, Ref: p.ref}
		if p.typ != "send" {
			seq := p.seq
			f.Seq = &seq
		}
		if s.write(f) {
			p.sent = true
		}
		return
	}
}

// hasPending reports whether commands for room wait for their answer.
func (s *Socket) hasPending(room string) bool {
	for _, p := range s.loop.pending {
		if p.room == room {
			return true
		}
	}
	return false
}

// write sends one frame and reports whether it went out. A failed write
// breaks the socket; its reader then reports the end.
func (s *Socket) write(f outFrame) bool {
	l := &s.loop
	if l.conn == nil || l.broken {
		return false
	}
	if err := l.conn.write(f); err != nil {
		l.broken = true
		l.conn.cut()
		return false
	}
	return true
}

// removeRoom forgets room.
func (s *Socket) removeRoom(room string) {
	l := &s.loop
	delete(l.rooms, room)
	for i, n := range l.order {
		if n == room {
			l.order = append(l.order[:i], l.order[i+1:]...)
			break
		}
	}
}
