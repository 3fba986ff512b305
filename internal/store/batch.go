package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/chatsvc/chat/internal/chat"
)

// batchKeys returns the batch's rooms, sorted so that concurrent batches of
// other processes lock them in the same order and cannot deadlock, and its
// distinct ref keys.
func batchKeys(reqs []*appendReq) ([]string, []refKey) {
	var (
		rooms     []string
		keys      []refKey
		seenRooms = make(map[string]bool)
		seen      = make(map[refKey]bool)
	)
	for _, r := range reqs {
		if !seenRooms[r.m.Room] {
			seenRooms[r.m.Room] = true
			rooms = append(rooms, r.m.Room)
		}
		if k := (refKey{r.m.UserID, r.m.Ref}); k.ref != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	slices.Sort(rooms)
	return rooms, keys
}

// insertMessages assigns seqs, ords and uords to the messages at inserts
// and stores them.
func (db *DB) insertMessages(ctx context.Context, tx *sql.Tx, reqs []*appendReq, inserts []int, rooms []string, counts map[string]int64, res []appendResult, now time.Time) error {
	names := make([]string, 0, len(counts))
	for _, name := range rooms {
		if counts[name] > 0 {
			names = append(names, name)
		}
	}
	ns := make([]int64, len(names))
	for j, name := range names {
		ns[j] = counts[name]
	}
	last, err := db.app.bump(ctx, tx, names, ns, db.arg(now))
	if err != nil {
		return fmt.Errorf("assign seqs: %w", err)
	}
	next := make(map[string]seqOrd, len(names))
	for _, name := range names {
		l, ok := last[name]
		if !ok {
			return fmt.Errorf("assign seqs: room %q is gone", name)
		}
		next[name] = seqOrd{seq: l.seq - counts[name] + 1, ord: l.ord - counts[name] + 1}
	}
	rows := make([]msgRow, len(inserts))
	for j, i := range inserts {
		m := reqs[i].m
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("new message id: %w", err)
		}
		n := next[m.Room]
		next[m.Room] = seqOrd{seq: n.seq + 1, ord: n.ord + 1}
		res[i].msg = chat.Message{Room: m.Room, Seq: n.seq, ID: id.String(), FromID: m.UserID, From: m.Username, Text: m.Text, TS: now}
		rows[j] = msgRow{room: m.Room, seq: n.seq, ord: n.ord, id: res[i].msg.ID, userID: m.UserID, text: m.Text, ref: m.Ref}
	}
	if err := db.numberByUser(ctx, tx, rows); err != nil {
		return fmt.Errorf("assign uords: %w", err)
	}
	if err := db.app.insert(ctx, tx, rows, db.arg(now)); err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	return nil
}

// numberByUser sets the uord of rows (in seq order within each room): each
// sender's messages in a room are numbered on from the uord of their newest
// stored message there. The caller holds the rooms (their rows locked on
// PostgreSQL, the single writer on SQLite), so no other transaction stores
// messages in them meanwhile.
func (db *DB) numberByUser(ctx context.Context, tx *sql.Tx, rows []msgRow) error {
	var pairs []roomUser
	seen := make(map[roomUser]bool)
	for _, r := range rows {
		if k := (roomUser{r.room, r.userID}); !seen[k] {
			seen[k] = true
			pairs = append(pairs, k)
		}
	}
	last, err := db.app.lastUords(ctx, tx, pairs)
	if err != nil {
		return err
	}
	for j := range rows {
		k := roomUser{rows[j].room, rows[j].userID}
		last[k]++
		rows[j].uord = last[k]
	}
	return nil
}

// countStored updates the metrics of a committed batch.
func (db *DB) countStored(reqs []*appendReq, res []appendResult, messages int) {
	if db.metrics == nil {
		return
	}
	db.metrics.StoreBatchSize.Observe(float64(len(reqs)))
	db.metrics.MessagesStored.Add(float64(messages))
	for i, r := range reqs {
		if !isMessage(r.m) && res[i].err == nil && !res[i].dup && res[i].msg.Seq > 0 {
			db.metrics.RoomEventStored(r.m.Kind)
			if res[i].moderated {
				db.metrics.Moderation("delete_message")
			}
		}
	}
}

// isMessage reports whether m is a chat message rather than another event.
func isMessage(m chat.NewMessage) bool { return m.Kind == "" || m.Kind == chat.StreamMessage }

// isChatError reports whether err is one of the chat error kinds: an
// outcome for its item, not a failure of the transaction.
func isChatError(err error) bool {
	var ce *chat.Error
	return errors.As(err, &ce)
}
