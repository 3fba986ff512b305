package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

const memberSelect = `SELECT mb.room, mb.user_id, u.username, mb.role, mb.state, mb.muted_until, mb.since,
mb.last_read, COALESCE(mb.hidden_seq, 0)
FROM members mb JOIN users u ON u.id = mb.user_id `

func memberDest(m *chat.Member) []any {
	return []any{&m.Room, &m.UserID, &m.Username, &m.Role, &m.State, msTime{&m.MutedUntil}, msTime{&m.Since},
		&m.LastRead, &m.HiddenSeq}
}

// Membership returns the user's membership of the room, the zero Member
// when there is none.
func (db *DB) Membership(ctx context.Context, room, userID string) (chat.Member, error) {
	var m chat.Member
	err := db.r.QueryRowContext(ctx, memberSelect+`WHERE mb.room = $1 AND mb.user_id = $2`, room, userID).
		Scan(memberDest(&m)...)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Member{}, nil
	}
	if err != nil {
		return chat.Member{}, fmt.Errorf("store: membership: %w", err)
	}
	return m, nil
}

// Members returns up to limit memberships of the room whose username sorts
// after after, by username, and reports whether more follow. Banned users
// are included only when withBanned is set.
func (db *DB) Members(ctx context.Context, room, after string, limit int, withBanned bool) ([]chat.Member, bool, error) {
	limit, err := readLimit(limit)
	if err != nil {
		return nil, false, err
	}
	rows, err := db.r.QueryContext(ctx, memberSelect+`WHERE mb.room = $1 AND u.username > $2 AND ($3 OR mb.state <> 'banned')
ORDER BY u.username LIMIT $4`, room, after, withBanned, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("store: members: %w", err)
	}
	defer rows.Close()
	var out []chat.Member
	for rows.Next() {
		var m chat.Member
		if err := rows.Scan(memberDest(&m)...); err != nil {
			return nil, false, fmt.Errorf("store: members: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("store: members: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// JoinRoom carries out a WebSocket join of the room by user: an unknown
// name becomes a public room owned by the user, after mayCreate (nil: no
// check) allowed it; a public room makes the user a member without an
// event; an invited user (or a server admin) entering a private room
// becomes a member with a stored member event joined; a member of any kind
// of room stays one. Anything else is the error of chat.Authorize:
// chat.ErrRoomNotFound (private, direct, deleted) or chat.ErrForbidden
// (banned). A new name starting with dm- is invalid_room.
func (db *DB) JoinRoom(ctx context.Context, name string, user chat.User, serverAdmin bool, mayCreate func() error) (chat.JoinResult, error) {
	r, err := db.Room(ctx, name)
	if errors.Is(err, chat.ErrNotFound) {
		return db.joinNew(ctx, name, user, serverAdmin, mayCreate)
	}
	if err != nil {
		return chat.JoinResult{}, err
	}
	m, err := db.Membership(ctx, name, user.ID)
	if err != nil {
		return chat.JoinResult{}, err
	}
	actor := chat.Actor{UserID: user.ID, ServerAdmin: serverAdmin, Member: m}
	if err := chat.Authorize(r, actor, chat.ActJoin, chat.Target{}, time.Now()); err != nil {
		return chat.JoinResult{}, err
	}
	res := chat.JoinResult{Room: r, Member: m}
	switch {
	case m.Joined():
		return res, nil
	case r.Kind == chat.KindPublic || r.Kind == "":
		if err := db.addPublicMember(ctx, name, user.ID); err != nil {
			return chat.JoinResult{}, err
		}
	default:
		ev, _, err := db.Append(ctx, chat.NewMessage{Room: name, UserID: user.ID, Username: user.Username,
			Kind: chat.StreamMember, Member: user.ID, MemberName: user.Username, Change: chat.ChangeJoined})
		if err != nil {
			return chat.JoinResult{}, fmt.Errorf("store: join: %w", err)
		}
		if ev.Seq > 0 {
			res.Event = &ev
		}
	}
	if res.Room, err = db.room(ctx, db.w, name); err != nil {
		return chat.JoinResult{}, err
	}
	if res.Member, err = db.Membership(ctx, name, user.ID); err != nil {
		return chat.JoinResult{}, err
	}
	return res, nil
}

// joinNew creates the public room a join of an unknown name asks for.
func (db *DB) joinNew(ctx context.Context, name string, user chat.User, serverAdmin bool, mayCreate func() error) (chat.JoinResult, error) {
	if _, err := chat.NormalizeNewRoom(name); err != nil {
		return chat.JoinResult{}, err
	}
	if mayCreate != nil {
		if err := mayCreate(); err != nil {
			return chat.JoinResult{}, err
		}
	}
	r, err := db.CreateRoom(ctx, name, chat.KindPublic, "", user)
	if errors.Is(err, chat.ErrRoomExists) {
		// Another join made it meanwhile: join that one.
		return db.JoinRoom(ctx, name, user, serverAdmin, nil)
	}
	if err != nil {
		return chat.JoinResult{}, err
	}
	m, err := db.Membership(ctx, name, user.ID)
	if err != nil {
		return chat.JoinResult{}, err
	}
	return chat.JoinResult{Room: r, Member: m, Created: true}, nil
}

// addPublicMember makes the user a member of a public room, with the read
// marker at the room's newest seq, unless they already have a membership.
func (db *DB) addPublicMember(ctx context.Context, room, userID string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: join: %w", err)
	}
	defer rollback(tx)
	res, err := tx.ExecContext(ctx, `INSERT INTO members (room, user_id, role, state, since, last_read)
SELECT name, $2, 'member', 'member', $3, last_seq FROM rooms WHERE name = $1 AND deleted_at IS NULL
ON CONFLICT (room, user_id) DO NOTHING`, room, userID, db.arg(time.Now()))
	if err != nil {
		return fmt.Errorf("store: join: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		if _, err := tx.ExecContext(ctx, `UPDATE rooms SET member_count = member_count + 1 WHERE name = $1`, room); err != nil {
			return fmt.Errorf("store: join: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: join: commit: %w", err)
	}
	return nil
}

// HideDirect hides a direct room from the user's room list until its next
// message: the membership stays, and no event is stored.
func (db *DB) HideDirect(ctx context.Context, room, userID string) error {
	_, err := db.w.ExecContext(ctx, `UPDATE members SET hidden_seq = (SELECT last_seq FROM rooms WHERE name = $1)
WHERE room = $1 AND user_id = $2`, room, userID)
	if err != nil {
		return fmt.Errorf("store: hide direct room: %w", err)
	}
	return nil
}

// ReadMark is a user's read marker in a room.
type ReadMark = chat.ReadMark

// MarkRead moves each marker forward, in one transaction: a seq below the
// stored marker, or above the room's newest seq, changes nothing. Markers of users who are not members are
// ignored. Callers batch the markers of many users and rooms.
func (db *DB) MarkRead(ctx context.Context, marks []ReadMark) error {
	if len(marks) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	defer rollback(tx)
	stmt, err := tx.PrepareContext(ctx, `UPDATE members SET last_read = $3
WHERE room = $1 AND user_id = $2 AND state = 'member' AND last_read < $3
	AND $3 <= (SELECT last_seq FROM rooms WHERE name = $1)`)
	if err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	defer stmt.Close()
	for _, m := range marks {
		if _, err := stmt.ExecContext(ctx, m.Room, m.UserID, m.Seq); err != nil {
			return fmt.Errorf("store: mark read: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: mark read: commit: %w", err)
	}
	return nil
}
