package client

import (
	"fmt"
	"slices"
)

// What a send, edit or delete came to. The server answers every command it
// reads, on the socket that carried it: an ack once it is stored, or an
// error frame with its ref when it refused it. A Socket reports exactly
// that, and presumes nothing else:
//
//   - an ack is success, also when it arrives after a left frame took the
//     socket out of the room: the command was stored before or as the
//     removal happened;
//   - an error frame is a refusal (a *FrameError), also after a left frame;
//   - a command that no socket carried is not stored: ErrNotInRoom when its
//     room is gone, ErrClosed when Run ends;
//   - a command carried by a connection that ended before its answer is
//     sent again, with the same ref, once the socket is back in the room:
//     the server then answers it as the first time when it stored it. When
//     the socket cannot get back into the room, or Run ends first, nobody
//     can say whether it was stored: ErrOutcomeUnknown. The same holds
//     when the resend is refused for a reason that need not have stopped
//     the first try (muted, forbidden, not_joined, …).

// answer hands p its result and drops it from the pending commands.
func (s *Socket) answer(p *pending, r Result) {
	l := &s.loop
	if i := slices.Index(l.pending, p); i >= 0 {
		l.pending = slices.Delete(l.pending, i, i+1)
	}
	p.result <- r
}

// outOfRoom is the result of a command not written on the current socket
// whose room the socket is out of.
func (p *pending) outOfRoom() error {
	if p.lost {
		return fmt.Errorf("#%s: %w (the connection that carried it ended before the answer, and the socket is out of the room)",
			p.room, ErrOutcomeUnknown)
	}
	return fmt.Errorf("#%s: %w", p.room, ErrNotInRoom)
}

// refused is the result of a command the server refused with f, for good.
func (p *pending) refused(f *FrameError) error {
	if p.lost && !refusesEveryTry(f.Code) {
		return fmt.Errorf("#%s: %w (the answer to an earlier try was lost; the last try was refused: %s (%s))",
			p.room, ErrOutcomeUnknown, f.Message, f.Code)
	}
	return f
}

// closed is the result of a command still unanswered when Run returns.
func (p *pending) closed() error {
	if p.sent || p.lost {
		return fmt.Errorf("%w: %w", ErrClosed, ErrOutcomeUnknown)
	}
	return ErrClosed
}

// refusesEveryTry reports whether a refusal with code, answering a resend,
// refuses the earlier tries too: it judges the frame itself, which every try
// carried alike, not the state of the room or the user, which may have
// changed after an earlier try was stored.
func refusesEveryTry(code Code) bool {
	switch code {
	case CodeBadRequest, CodeInvalidRoom, CodeTextTooLong, CodeTextEmpty, CodeRefConflict:
		return true
	}
	return false
}
