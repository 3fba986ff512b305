package store

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

const (
	// batchTimeout bounds one group-commit transaction on PostgreSQL,
	// retries included: a database that stops answering fails the batch's
	// appends rather than blocking them forever.
	batchTimeout = 30 * time.Second
	// batchAttempts is how often a batch runs when it fails only because of
	// a concurrent transaction (a deadlock, or another process storing the
	// same ref at the same moment).
	batchAttempts = 3
)

// appendReq is one Append call waiting for the committer.
type appendReq struct {
	m chat.NewMessage
	// gone is closed when the caller's context ends; a request whose caller
	// is gone before its batch begins is not written.
	gone <-chan struct{}
	// state is reqQueued until the committer takes the request into a
	// batch (reqStarted) or it is given up before that (reqAbandoned); one
	// compare-and-swap decides which, so a request is either written and
	// answered or neither.
	state atomic.Int32
	res   chan appendResult // buffered: the committer never blocks on it
}

// The values of appendReq.state.
const (
	reqQueued int32 = iota
	reqStarted
	reqAbandoned
)

type appendResult struct {
	msg chat.Message
	dup bool
	err error
	// moderated reports a delete of another user's message, a moderation
	// action.
	moderated bool
}

// refKey is a sender's idempotency key.
type refKey struct{ user, ref string }

// storedRef is a stored event found by its refKey. id is the id of the
// message an edit or delete applies to.
type storedRef struct {
	room, id, text, kind string
	seq, target          int64
	ts                   time.Time
}

// message returns the stored event p as m's sender sees it again.
func (p storedRef) message(m chat.NewMessage) chat.Message {
	out := chat.Message{Room: p.room, Seq: p.seq, ID: p.id, FromID: m.UserID, From: m.Username, Text: p.text, TS: p.ts, Target: p.target}
	if p.kind != chat.StreamMessage {
		out.Kind = p.kind
	}
	return out
}

// msgRow is a message about to be inserted. uord is its number among its
// sender's messages in the room (see migration 00006).
type msgRow struct {
	room           string
	seq, ord, uord int64
	id, userID     string
	text, ref      string // ref "" is stored as NULL
}

// roomUser is a sender in a room.
type roomUser struct{ room, user string }

// Append stores one stream event and returns it with its room seq, id and
// timestamp (the wall clock of its transaction, in milliseconds). A message
// (m.Kind "" or message) also gets the room's next ord and its sender's next
// uord in the room. Other kinds take the room's next seq in the same
// transactions, through the same committer: an edit (only of a live message
// by the editor: else chat.ErrMessageNotFound or chat.ErrForbidden) changes
// the message's text and edited_at and returns the event with ID the
// message's id; a delete clears the text of the message and of its edits
// and marks it deleted; a member event changes the membership (see
// planMember) and a room event the topic. A member event that would change nothing stores nothing and
// returns a Message with Seq 0 and no error. Authorization is the caller's
// (chat.Authorize).
//
// Concurrent calls are written by a single committer goroutine in one
// transaction per batch: a batch is whatever is queued when the previous
// commit finishes, up to Options.BatchMax messages, and each call returns
// after its own transaction committed. Seqs are assigned inside the
// transaction, per room, gapless and increasing.
//
// Sending is idempotent per (UserID, Ref) for 24 h, for every kind: when the
// pair is already stored, Append stores nothing and returns the stored event
// with dup = true if Room, kind, Target and Text are equal, chat.ErrRefConflict if they differ;
// the same holds for two sends of one pair in the same batch. A room that was
// never created is chat.ErrNotFound. A database failure fails the calls of
// its batch with a wrapped error; an item the database refuses fails alone.
//
// When ctx ends before the call's batch begins, Append returns ctx.Err()
// and nothing is written; once its batch has begun, Append returns the
// batch's outcome, however long after ctx ended (see Wait).
func (db *DB) Append(ctx context.Context, m chat.NewMessage) (msg chat.Message, dup bool, err error) {
	p, err := db.Submit(ctx, m)
	if err != nil {
		return chat.Message{}, false, err
	}
	return p.Wait(ctx)
}

// Submit queues m for the committer as Append does and returns once it is
// queued, without waiting for its transaction: Wait on the result gives
// what Append would have returned. Submits from one goroutine are stored
// in the order they were made (the committer takes the queue in order),
// so a caller may keep several in flight and still have them take
// increasing seqs. ctx bounds the queueing and the wait for the batch to
// begin: once it ends, an item whose batch has not begun is not written.
func (db *DB) Submit(ctx context.Context, m chat.NewMessage) (chat.PendingAppend, error) {
	req := &appendReq{m: m, gone: ctx.Done(), res: make(chan appendResult, 1)}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	select {
	case db.queue <- req:
		return req, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Wait returns the result of a submitted append once its transaction
// committed (or failed). When ctx ends first, an append whose batch has
// not begun is given up (it is never written) and Wait returns
// ctx.Err(); one whose batch has begun is waited for, since its outcome
// is being decided: the store bounds a batch's time itself
// (batchTimeout on PostgreSQL, busy_timeout on SQLite), so a caller is
// never told that a message it sent failed when it was stored.
func (r *appendReq) Wait(ctx context.Context) (chat.Message, bool, error) {
	select {
	case res := <-r.res:
		return res.msg, res.dup, res.err
	case <-ctx.Done():
	}
	if r.state.CompareAndSwap(reqQueued, reqAbandoned) || r.state.Load() == reqAbandoned {
		return chat.Message{}, false, ctx.Err()
	}
	res := <-r.res
	return res.msg, res.dup, res.err
}

// runCommitter writes the queued appends batch by batch until the queue is
// closed and drained.
func (db *DB) runCommitter(queue <-chan *appendReq) {
	defer close(db.committerDone)
	batch := make([]*appendReq, 0, db.batchMax)
	for {
		req, ok := <-queue
		if !ok {
			return
		}
		batch = append(batch[:0], req)
	fill:
		for len(batch) < db.batchMax {
			select {
			case req, ok := <-queue:
				if !ok {
					break fill
				}
				batch = append(batch, req)
			default:
				break fill
			}
		}
		db.commitBatch(batch)
		clear(batch)
	}
}

// commitBatch writes one batch and answers every caller in it.
func (db *DB) commitBatch(batch []*appendReq) {
	live := make([]*appendReq, 0, len(batch))
	for _, r := range batch {
		select {
		case <-r.gone:
			r.state.CompareAndSwap(reqQueued, reqAbandoned)
			continue
		default:
		}
		if r.state.CompareAndSwap(reqQueued, reqStarted) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	ctx := context.Background()
	if db.dialect != DialectSQLite {
		// On SQLite a cancellable context costs a watcher goroutine per
		// statement, and there is no network to hang: its waits for locks
		// are bounded by busy_timeout.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, batchTimeout)
		defer cancel()
	}
	res, err := db.appendAttempts(ctx, live)
	switch {
	case err == nil:
	case isItemError(err) && len(live) > 1:
		// One message was refused: write each on its own so that only the
		// refused one fails.
		db.log.Debug("append batch refused, writing its messages one by one", "batch", len(live), "err", err)
		res = make([]appendResult, len(live))
		for i := range live {
			one, err := db.appendAttempts(ctx, live[i:i+1])
			if err != nil {
				res[i].err = fmt.Errorf("store: append: %w", err)
				continue
			}
			res[i] = one[0]
		}
	default:
		res = make([]appendResult, len(live))
		for i := range res {
			res[i].err = fmt.Errorf("store: append: %w", err)
		}
	}
	for i, r := range live {
		r.res <- res[i]
	}
}

// appendAttempts runs appendTx, again when it failed only because of a
// concurrent transaction.
func (db *DB) appendAttempts(ctx context.Context, reqs []*appendReq) ([]appendResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := db.appendTx(ctx, reqs)
		if err == nil || attempt == batchAttempts || !isTransient(err) || ctx.Err() != nil {
			return res, err
		}
	}
}

// appendTx writes reqs in one transaction. It returns an error only when the
// transaction failed; per-item outcomes (duplicates, ref conflicts, unknown
// rooms, refused edits and member changes) are in the results. Messages
// take their seqs first, in one statement per room; the other events follow
// one by one, each with its room's next seq.
func (db *DB) appendTx(ctx context.Context, reqs []*appendReq) ([]appendResult, error) {
	rooms, keys := batchKeys(reqs)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer rollback(tx)
	now := truncMS(db.now())
	exists, err := db.app.lockRooms(ctx, tx, rooms)
	if err != nil {
		return nil, fmt.Errorf("lock rooms: %w", err)
	}
	prior, err := db.app.lookupRefs(ctx, tx, keys)
	if err != nil {
		return nil, fmt.Errorf("look up refs: %w", err)
	}

	var (
		res       = make([]appendResult, len(reqs))
		windowEnd = now.Add(-refWindow) // refs stored at or before it are free again
		// held maps a key to the result that holds it: a stored message,
		// or one this batch writes.
		held      = make(map[refKey]*appendResult)
		followers []int // items whose key an earlier item of the batch holds
		inserts   []int // messages
		events    []int // other kinds
		counts    = make(map[string]int64)
		stale     []string // ids of messages whose ref is past its window
	)
	for i, r := range reqs {
		m := r.m
		k := refKey{m.UserID, m.Ref}
		if m.Ref != "" {
			if _, ok := held[k]; ok {
				followers = append(followers, i)
				continue
			}
			if p, ok := prior[k]; ok {
				if p.ts.After(windowEnd) {
					res[i] = sameRef(p.message(m), m)
					held[k] = &appendResult{msg: p.message(m)}
					continue
				}
				if !slices.Contains(stale, p.id) {
					stale = append(stale, p.id)
				}
			}
		}
		if !exists[m.Room] {
			res[i].err = chat.ErrNotFound
			continue
		}
		if m.Ref != "" {
			held[k] = &res[i]
		}
		if isMessage(m) {
			inserts = append(inserts, i)
			counts[m.Room]++
		} else {
			events = append(events, i)
		}
	}
	if len(stale) > 0 {
		if err := db.app.clearRefs(ctx, tx, stale); err != nil {
			return nil, fmt.Errorf("clear stale refs: %w", err)
		}
	}
	if len(inserts) > 0 {
		if err := db.insertMessages(ctx, tx, reqs, inserts, rooms, counts, res, now); err != nil {
			return nil, err
		}
	}
	for _, i := range events {
		msg, moderated, err := db.storeEvent(ctx, tx, reqs[i].m, now)
		switch {
		case err == nil:
			res[i].msg, res[i].moderated = msg, moderated
		case isChatError(err):
			res[i].err = err
		default:
			return nil, fmt.Errorf("store %s event: %w", reqs[i].m.Kind, err)
		}
	}
	for _, i := range followers {
		m := reqs[i].m
		h := held[refKey{m.UserID, m.Ref}]
		if h.err != nil {
			res[i].err = h.err
			continue
		}
		res[i] = sameRef(h.msg, m)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	db.countStored(reqs, res, len(inserts))
	return res, nil
}

// sameRef is the outcome of sending m with a ref that held already holds:
// the stored event again when m asks for the same thing (room, kind, target
// and text), else a ref conflict.
func sameRef(held chat.Message, m chat.NewMessage) appendResult {
	kind := m.Kind
	if kind == "" {
		kind = chat.StreamMessage
	}
	if held.Room == m.Room && held.EventKind() == kind && held.Target == m.Target && held.Text == m.Text {
		return appendResult{msg: held, dup: true}
	}
	return appendResult{err: chat.ErrRefConflict}
}
