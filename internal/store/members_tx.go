package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// memberTx writes one member event's effects in a transaction.
type memberTx struct {
	db   *DB
	tx   *sql.Tx
	m    chat.NewMessage
	now  time.Time
	role string // the target's role before the change
}

// planMember checks a member event against the target's current membership
// and returns its effects: nil for a change that changes nothing, a
// *chat.Error for one that is not possible (inviting a banned user, muting
// someone who is not a member).
func (db *DB) planMember(ctx context.Context, tx *sql.Tx, m chat.NewMessage, now time.Time) (applyFunc, error) {
	role, state, mutedUntil, err := membership(ctx, tx, m.Room, m.Member)
	if err != nil {
		return nil, err
	}
	w := memberTx{db: db, tx: tx, m: m, now: now, role: role}
	switch m.Change {
	case chat.ChangeInvited:
		switch state {
		case chat.StateMember, chat.StateInvited:
			return nil, nil
		case chat.StateBanned:
			return nil, chat.ErrForbidden
		}
		return w.put(ctx, chat.StateInvited, 0), nil
	case chat.ChangeJoined:
		switch state {
		case chat.StateMember:
			return nil, nil
		case chat.StateBanned:
			return nil, chat.ErrForbidden
		}
		return w.put(ctx, chat.StateMember, +1), nil
	case chat.ChangeLeft, chat.ChangeKicked:
		switch state {
		case chat.StateMember:
			return w.remove(ctx, -1), nil
		case chat.StateInvited:
			return w.remove(ctx, 0), nil
		}
		return nil, chat.ErrNotMember
	case chat.ChangeBanned:
		switch state {
		case chat.StateBanned:
			return nil, nil
		case chat.StateMember:
			return w.put(ctx, chat.StateBanned, -1), nil
		}
		return w.put(ctx, chat.StateBanned, 0), nil
	case chat.ChangeUnbanned:
		if state != chat.StateBanned {
			return nil, nil
		}
		return w.remove(ctx, 0), nil
	case chat.ChangeMuted, chat.ChangeUnmuted:
		if state != chat.StateMember {
			return nil, chat.ErrNotMember
		}
		if m.Change == chat.ChangeUnmuted && !now.Before(mutedUntil) {
			return nil, nil
		}
		return w.mute(ctx), nil
	case chat.ChangeRole:
		if state != chat.StateMember {
			return nil, chat.ErrNotMember
		}
		if role == m.Role {
			return nil, nil
		}
		return w.setRole(ctx), nil
	}
	return nil, chat.Errorf(chat.CodeInvalidRequest, "unknown member change %q", m.Change)
}

// put makes the target's membership state (role member), with the read
// marker at the event's seq, and adds delta to the room's member count.
func (w memberTx) put(ctx context.Context, state string, delta int) applyFunc {
	return func(seq int64) error {
		lastRead := seq
		if state != chat.StateMember {
			lastRead = 0
		}
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO members (room, user_id, role, state, since, last_read)
VALUES ($1, $2, 'member', $3, $4, $5)
ON CONFLICT (room, user_id) DO UPDATE SET role = 'member', state = excluded.state, muted_until = NULL,
since = excluded.since, last_read = excluded.last_read, hidden_seq = NULL`,
			w.m.Room, w.m.Member, state, w.db.arg(w.now), lastRead); err != nil {
			return err
		}
		return w.counts(ctx, delta)
	}
}

// remove ends the target's membership and adds delta to the member count.
func (w memberTx) remove(ctx context.Context, delta int) applyFunc {
	return func(int64) error {
		if _, err := w.tx.ExecContext(ctx, `DELETE FROM members WHERE room = $1 AND user_id = $2`,
			w.m.Room, w.m.Member); err != nil {
			return err
		}
		return w.counts(ctx, delta)
	}
}

// counts adds delta to the member count and, when the target was the
// owner and is one no more, leaves the room without an owner.
func (w memberTx) counts(ctx context.Context, delta int) error {
	if delta != 0 {
		if _, err := w.tx.ExecContext(ctx, `UPDATE rooms SET member_count = member_count + $2 WHERE name = $1`,
			w.m.Room, delta); err != nil {
			return err
		}
	}
	if w.role == chat.RoleOwner {
		_, err := w.tx.ExecContext(ctx, `UPDATE rooms SET owner_id = NULL WHERE name = $1 AND owner_id = $2`,
			w.m.Room, w.m.Member)
		return err
	}
	return nil
}

func (w memberTx) mute(ctx context.Context) applyFunc {
	return func(int64) error {
		var until any
		if w.m.Change == chat.ChangeMuted {
			until = w.db.arg(w.m.Until)
		}
		_, err := w.tx.ExecContext(ctx, `UPDATE members SET muted_until = $3 WHERE room = $1 AND user_id = $2`,
			w.m.Room, w.m.Member, until)
		return err
	}
}

// setRole gives the target its new role; handing the room over makes the
// old owner an admin.
func (w memberTx) setRole(ctx context.Context) applyFunc {
	return func(int64) error {
		if w.m.Role == chat.RoleOwner {
			if _, err := w.tx.ExecContext(ctx, `UPDATE members SET role = 'admin' WHERE room = $1 AND role = 'owner'`,
				w.m.Room); err != nil {
				return err
			}
			if _, err := w.tx.ExecContext(ctx, `UPDATE rooms SET owner_id = $2 WHERE name = $1`,
				w.m.Room, w.m.Member); err != nil {
				return err
			}
		} else if w.role == chat.RoleOwner {
			if _, err := w.tx.ExecContext(ctx, `UPDATE rooms SET owner_id = NULL WHERE name = $1`, w.m.Room); err != nil {
				return err
			}
		}
		_, err := w.tx.ExecContext(ctx, `UPDATE members SET role = $3 WHERE room = $1 AND user_id = $2`,
			w.m.Room, w.m.Member, w.m.Role)
		return err
	}
}
