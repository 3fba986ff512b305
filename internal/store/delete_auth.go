package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// mayDelete checks a delete of authorID's message by m.UserID, in the
// transaction that stores it: the author always may; anyone else is asked
// of chat.Authorize with their membership and the author's (a former
// member counts as a member), so the rank rule of the contract holds
// whichever node or path the delete came from. A refusal is
// chat.ErrForbidden.
func mayDelete(ctx context.Context, tx *sql.Tx, m chat.NewMessage, authorID string, now time.Time) error {
	if authorID == m.UserID {
		return nil
	}
	var r chat.Room
	if err := tx.QueryRowContext(ctx, roomSelect+`WHERE r.name = $1`, m.Room).Scan(roomDest(&r)...); err != nil {
		return fmt.Errorf("store: delete: room: %w", err)
	}
	actor, err := memberIn(ctx, tx, m.Room, m.UserID)
	if err != nil {
		return err
	}
	author, err := memberIn(ctx, tx, m.Room, authorID)
	if err != nil {
		return err
	}
	authorName := author.Username
	if authorName == "" {
		err := tx.QueryRowContext(ctx, `SELECT username FROM users WHERE id = $1`, authorID).Scan(&authorName)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: delete: author: %w", err)
		}
	}
	admin := func(name string) bool { return name != "" && m.ServerAdmin != nil && m.ServerAdmin(name) }
	err = chat.Authorize(r,
		chat.Actor{UserID: m.UserID, ServerAdmin: admin(m.Username), Member: actor},
		chat.ActDeleteMessage,
		chat.Target{UserID: authorID, ServerAdmin: admin(authorName), Member: author}, now)
	if err != nil {
		return chat.ErrForbidden
	}
	return nil
}

// memberIn reads a membership inside tx, the zero Member when none.
func memberIn(ctx context.Context, tx *sql.Tx, room, userID string) (chat.Member, error) {
	var m chat.Member
	err := tx.QueryRowContext(ctx, memberSelect+`WHERE mb.room = $1 AND mb.user_id = $2`, room, userID).Scan(memberDest(&m)...)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Member{}, nil
	}
	if err != nil {
		return chat.Member{}, fmt.Errorf("store: delete: membership: %w", err)
	}
	return m, nil
}
