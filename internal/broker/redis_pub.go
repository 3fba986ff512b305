package broker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/redis/go-redis/v9"
)

// publishLoop writes queued events to Redis in batches. While Redis is
// away it keeps what keepKey names, newest only, and publishes it when
// Redis returns, ahead of anything queued since.
func (r *Redis) publishLoop() {
	defer close(r.pubDone)
	batch := make([]chat.Event, 0, publishBatch)
	backoff := retryMin
	for {
		batch = batch[:0]
		r.takeOverflow()
		var retry <-chan time.Time
		if len(r.unsent) > 0 {
			retry = time.After(backoff)
		}
		var first chat.Event
		var got bool
		select {
		case first = <-r.pubq:
			got = true
		case <-retry:
		case <-r.stop:
			r.flush(batch)
			return
		}
		// What failed before goes first: a presence change queued since
		// is newer than the one kept for the same user.
		for key, ev := range r.unsent {
			batch = append(batch, ev)
			delete(r.unsent, key)
		}
		if got {
			batch = append(batch, first)
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case ev := <-r.pubq:
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		if err := r.publishBatch(batch); err != nil {
			r.m.BrokerErrors.Inc()
			if r.pubUp.Swap(false) {
				r.log.Warn("redis publish failed; messages reach other nodes when it returns", "err", err)
			}
			for _, ev := range batch {
				if !r.keepUnsent(ev) {
					r.m.BrokerDropped.Inc()
				}
			}
			backoff = min(backoff*2, retryMax)
			continue
		}
		backoff = retryMin
		if !r.pubUp.Swap(true) {
			r.log.Info("redis publish restored")
			// Other nodes may have counted this node gone meanwhile.
			r.markDirty("")
		}
	}
}

// keepKey names what a failed publish keeps until Redis returns, the
// newest of each: a room's newest message, a user's presence in a room on
// a node, a revocation. It is "" for what is dropped.
func keepKey(ev chat.Event) string {
	switch ev.Kind {
	case chat.EventMessage:
		if ev.Message != nil {
			return "m|" + ev.Message.Room
		}
	case chat.EventPresence:
		return "p|" + ev.Room + "|" + ev.Node + "|" + ev.UserID
	case chat.EventRevoke:
		return "r|" + ev.SessionID
	}
	return ""
}

// keepUnsent remembers ev, unpublished, when it is the newest of its
// keepKey, and reports whether ev is of a kind that is kept. Events come
// oldest first; messages, which may come out of order, go by seq.
func (r *Redis) keepUnsent(ev chat.Event) bool {
	key := keepKey(ev)
	if key == "" {
		return false
	}
	if old, ok := r.unsent[key]; !ok || ev.Message == nil || old.Message.Seq < ev.Message.Seq {
		r.unsent[key] = ev
	}
	return true
}

// takeOverflow moves the messages Publish could not queue into unsent.
func (r *Redis) takeOverflow() {
	r.overflowMu.Lock()
	over := r.overflow
	r.overflow = nil
	r.overflowMu.Unlock()
	for _, ev := range over {
		r.keepUnsent(ev)
	}
}

// flush publishes, once, what is queued when the broker closes.
func (r *Redis) flush(batch []chat.Event) {
	r.takeOverflow()
	for _, ev := range r.unsent {
		batch = append(batch, ev)
	}
	for {
		select {
		case ev := <-r.pubq:
			batch = append(batch, ev)
			continue
		default:
		}
		break
	}
	if len(batch) > 0 {
		_ = r.publishBatch(batch)
	}
}

// publishBatch publishes events in one round trip, keeping the presence
// hashes in step with the presence events.
func (r *Redis) publishBatch(batch []chat.Event) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	pipe := r.rdb.Pipeline()
	now := time.Now()
	for _, ev := range batch {
		ch := r.events
		room := ev.Room
		if ev.Message != nil {
			room = ev.Message.Room
		}
		if room != "" {
			ch = r.roomChannel(room)
		}
		b, err := r.codec.encode(ch, ev, now)
		if err != nil {
			continue
		}
		if ev.Kind == chat.EventPresence {
			key := r.presenceKey(room)
			field := ev.Node + "|" + ev.UserID
			r.notePresence(room)
			if ev.Presence == chat.PresenceLeave {
				pipe.HDel(ctx, key, field)
			} else {
				pipe.HSet(ctx, key, field, ev.Username)
				pipe.Expire(ctx, key, presenceKeyTTL)
			}
		}
		pipe.Publish(ctx, ch, b)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// notePresence records that this node wrote to room's presence hash.
func (r *Redis) notePresence(room string) {
	r.presenceMu.Lock()
	r.presenceRooms[room] = true
	r.presenceMu.Unlock()
}

// removePresence deletes this node's fields from every presence hash it
// wrote to, so a cleanly stopped node leaves nothing behind for other nodes
// to filter out.
func (r *Redis) removePresence(ctx context.Context) error {
	r.presenceMu.Lock()
	rooms := make([]string, 0, len(r.presenceRooms))
	for room := range r.presenceRooms {
		rooms = append(rooms, room)
	}
	r.presenceMu.Unlock()
	if len(rooms) == 0 {
		return nil
	}
	pipe := r.rdb.Pipeline()
	keys := make([]*redis.StringSliceCmd, len(rooms))
	for i, room := range rooms {
		keys[i] = pipe.HKeys(ctx, r.presenceKey(room))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("broker: remove presence: %w", err)
	}
	mine := r.opt.Node + "|"
	pipe = r.rdb.Pipeline()
	n := 0
	for i, room := range rooms {
		var fields []string
		for _, f := range keys[i].Val() {
			if strings.HasPrefix(f, mine) {
				fields = append(fields, f)
			}
		}
		if len(fields) > 0 {
			pipe.HDel(ctx, r.presenceKey(room), fields...)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("broker: remove presence: %w", err)
	}
	return nil
}
