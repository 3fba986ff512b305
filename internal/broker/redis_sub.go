package broker

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/redis/go-redis/v9"
)

// subscribeLoop keeps one pub/sub connection subscribed to the events
// channel and the rooms with local members, replacing it when it fails.
func (r *Redis) subscribeLoop() {
	defer r.wg.Done()
	backoff := retryMin
	for {
		heard, err := r.subscribeOnce()
		if heard {
			// The connection worked: a new failure starts the back-off
			// afresh instead of where the last outage left it.
			backoff = retryMin
		}
		select {
		case <-r.stop:
			return
		default:
		}
		r.m.BrokerErrors.Inc()
		if r.subUp.Swap(false) {
			r.log.Warn("redis subscription lost; retrying", "err", err)
		}
		select {
		case <-r.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, retryMax)
	}
}

// subscribeOnce runs one pub/sub connection until it fails or Close, and
// reports whether Redis answered on it.
func (r *Redis) subscribeOnce() (heard bool, err error) {
	ctx := context.Background()
	ps := r.rdb.Subscribe(ctx)
	defer ps.Close()

	r.subMu.Lock()
	r.ops = r.ops[:0]
	chans := make([]string, 0, len(r.rooms)+1)
	chans = append(chans, r.events)
	for room := range r.rooms {
		chans = append(chans, r.roomChannel(room))
	}
	r.subMu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, opTimeout)
	err = ps.Subscribe(sctx, chans...)
	cancel()
	if err != nil {
		return false, err
	}

	dead := make(chan error, 1)
	var answered atomic.Bool
	defer func() { heard = answered.Load() }()
	var lastHeard atomic.Int64
	lastHeard.Store(time.Now().UnixNano())
	go func() {
		for {
			msg, err := ps.ReceiveTimeout(ctx, silentAfter)
			if err != nil {
				dead <- err
				return
			}
			lastHeard.Store(time.Now().UnixNano())
			answered.Store(true)
			r.received(msg)
		}
	}()

	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-r.stop:
			return false, nil
		case err := <-dead:
			return false, err
		case <-ping.C:
			if time.Since(time.Unix(0, lastHeard.Load())) > silentAfter {
				return false, errors.New("broker: redis subscription went silent")
			}
			pctx, cancel := context.WithTimeout(ctx, opTimeout)
			err := ps.Ping(pctx)
			cancel()
			if err != nil {
				return false, err
			}
		case <-r.opsKick:
			r.subMu.Lock()
			ops := r.ops
			r.ops = nil
			r.subMu.Unlock()
			var subs, unsubs []string
			for _, op := range ops {
				if op.sub {
					subs = append(subs, r.roomChannel(op.room))
				} else {
					unsubs = append(unsubs, r.roomChannel(op.room))
				}
			}
			// Applied in two groups: a room left and joined again within
			// one batch ends subscribed if it is wanted.
			octx, cancel := context.WithTimeout(ctx, opTimeout)
			if len(unsubs) > 0 {
				err = ps.Unsubscribe(octx, unsubs...)
			}
			if err == nil {
				r.subMu.Lock()
				subs = subs[:0]
				for _, op := range ops {
					if r.rooms[op.room] {
						subs = append(subs, r.roomChannel(op.room))
					}
				}
				r.subMu.Unlock()
				if len(subs) > 0 {
					err = ps.Subscribe(octx, subs...)
				}
			}
			cancel()
			if err != nil {
				return false, err
			}
		}
	}
}

// received handles one reply of the pub/sub connection.
func (r *Redis) received(msg any) {
	switch v := msg.(type) {
	case *redis.Subscription:
		if v.Kind != "subscribe" {
			return
		}
		if v.Channel == r.events {
			if !r.subUp.Swap(true) {
				r.log.Info("redis subscription restored")
				// Redis may have restarted and lost the shared state.
				r.markDirty("")
			}
			return
		}
		if room, ok := strings.CutPrefix(v.Channel, r.prefix+"room:"); ok {
			r.subMu.Lock()
			if live := r.live[room]; live != nil {
				select {
				case <-live:
				default:
					close(live)
				}
			}
			r.subMu.Unlock()
			r.markDirty(room)
		}
	case *redis.Message:
		ev, err := r.codec.decode(v.Channel, []byte(v.Payload), time.Now())
		if err != nil {
			r.rejected(err)
			return
		}
		if ev.Node == r.opt.Node {
			return
		}
		if ev.Kind == chat.EventRevoke {
			// Never dropped: nothing else would close the session's
			// sockets. Revocations are rare and go ahead of the queue.
			r.dirtyMu.Lock()
			r.revokes = append(r.revokes, ev)
			r.dirtyMu.Unlock()
			r.kickDispatch()
			return
		}
		select {
		case r.in <- ev:
			return
		default:
		}
		t := time.NewTimer(r.opt.SendTimeout)
		defer t.Stop()
		select {
		case r.in <- ev:
		case <-t.C:
			r.m.BrokerDropped.Inc()
			// The room is checked against the store and its presence read
			// again, which makes up for the lost event.
			switch {
			case ev.Message != nil:
				r.markDirty(ev.Message.Room)
			case ev.Room != "":
				r.markDirty(ev.Room)
			}
		}
	}
}

// rejected counts an event dropped unread. It is logged at debug level
// only: whoever publishes on Redis must not be able to flood the log; the
// counter is what to alert on.
func (r *Redis) rejected(err error) {
	reason := rejectDecode
	var re *rejectError
	if errors.As(err, &re) {
		reason = re.reason
	}
	r.m.BrokerRejected.WithLabelValues(reason).Inc()
	r.log.Debug("broker event rejected", "reason", reason, "err", err)
}

func (r *Redis) markDirty(room string) {
	r.dirtyMu.Lock()
	r.dirty[room] = true
	r.dirtyMu.Unlock()
	r.kickDispatch()
}

func (r *Redis) kickDispatch() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// dispatch hands received events, resyncs and departed nodes to the
// handler, one at a time.
func (r *Redis) dispatch() {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case ev := <-r.in:
			r.handler(ev)
		case <-r.kick:
			r.dirtyMu.Lock()
			dirty, gone, revokes := r.dirty, r.gone, r.revokes
			r.dirty, r.gone, r.revokes = make(map[string]bool), nil, nil
			r.dirtyMu.Unlock()
			for _, ev := range revokes {
				r.handler(ev)
			}
			for _, node := range gone {
				r.handler(chat.Event{Kind: chat.EventNodeGone, Node: node})
			}
			if dirty[""] {
				r.handler(chat.Event{Kind: chat.EventResync})
				continue
			}
			for room := range dirty {
				r.handler(chat.Event{Kind: chat.EventResync, Room: room})
			}
		}
	}
}
