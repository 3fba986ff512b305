package hub

import (
	"context"
	"sync"

	"github.com/chatsvc/chat/internal/chat"
)

// maxSendsInFlight bounds the sends of one socket queued for the store and
// not yet acknowledged. Past it the socket's reader waits, and so does the
// peer (TCP back-pressure).
const maxSendsInFlight = 16

// sendQueue lets a socket keep several sends in flight: the reader queues
// each send for the store (Store.Submit, which keeps their order) and goes
// on reading, and an acker goroutine acknowledges them in the order they
// were read, each once its transaction committed. Without it a socket's
// sends wait for one commit each, and a client with eight in flight gets
// the throughput of one.
//
// What the socket sees keeps the order of its frames: every outcome of a
// send (its ack, or its error) is answered through the queue, and any
// other frame waits until the queue is empty before it is carried out
// (Client.settleSends), as does a 1001 close at shutdown (Client.goAway).
//
// Goroutines: the reader (the goroutine calling Handle) adds; one acker at
// a time, started through Hub.background when the queue stops being empty,
// runs the queued outcomes and ends when it is empty. mu is a leaf: the
// queued functions run without it.
type sendQueue struct {
	mu        sync.Mutex
	cond      sync.Cond // on mu: the queue shrank or emptied
	items     []func()
	running   bool // an acker drains items
	goingAway bool // close with 1001 once the queue is empty
}

// inOrder runs f now when nothing of the socket is in flight, else queues
// it after what is. It waits while maxSendsInFlight are queued.
func (c *Client) inOrder(f func()) {
	q := &c.sends
	q.mu.Lock()
	if !q.running {
		q.mu.Unlock()
		f()
		return
	}
	q.pushLocked(f)
	q.mu.Unlock()
}

// pushLocked queues f after the outcomes already queued, waiting while
// maxSendsInFlight are. q.mu is held.
func (q *sendQueue) pushLocked(f func()) {
	for q.running && len(q.items) >= maxSendsInFlight {
		q.cond.Wait()
	}
	q.items = append(q.items, f)
}

// refuse answers the frame f with the error err, after the socket's
// earlier outcomes.
func (c *Client) refuse(f chat.ClientFrame, err error) {
	c.inOrder(func() { c.sendError(chat.ErrorCode(err), chat.ErrorMessage(err), f.Ref, f.Room) })
}

// submitSend queues a checked send for the store and its acknowledgement
// after the socket's earlier outcomes.
func (c *Client) submitSend(f chat.ClientFrame, r *room, m chat.NewMessage) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	p, err := c.hub.opt.Store.Submit(ctx, m)
	if err != nil {
		cancel()
		c.inOrder(func() { c.sendFailed(f, err) })
		return
	}
	outcome := func() {
		defer cancel()
		msg, dup, err := p.Wait(ctx)
		if err != nil {
			c.sendFailed(f, err)
			return
		}
		c.acked(ctx, f, r, msg, dup)
	}
	q := &c.sends
	q.mu.Lock()
	q.pushLocked(outcome)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start && !c.hub.background(c.runSends) {
		c.runSends()
	}
}

// runSends carries out the queued outcomes in order until none is left,
// then closes the socket with 1001 if shutdown asked for it meanwhile.
func (c *Client) runSends() {
	q := &c.sends
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.running = false
			away := q.goingAway
			q.cond.Broadcast()
			q.mu.Unlock()
			if away {
				c.sock.Close(chat.CloseGoingAway)
			}
			return
		}
		f := q.items[0]
		q.items[0] = nil
		q.items = q.items[1:]
		q.cond.Broadcast()
		q.mu.Unlock()
		f()
	}
}

// settleSends waits until every queued send of the socket is answered.
// The reader calls it before carrying out any other frame.
func (c *Client) settleSends() {
	q := &c.sends
	q.mu.Lock()
	for q.running {
		q.cond.Wait()
	}
	q.mu.Unlock()
}

// goAway closes the socket with 1001 once its queued sends are answered,
// so an accepted send is acknowledged before a shutdown closes it.
func (c *Client) goAway() {
	q := &c.sends
	q.mu.Lock()
	if q.running {
		q.goingAway = true
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	c.sock.Close(chat.CloseGoingAway)
}

// sendFailed answers a send the store did not take: ref_conflict as is,
// anything else as internal.
func (c *Client) sendFailed(f chat.ClientFrame, err error) {
	code := chat.ErrorCode(err)
	msg := "the message could not be stored"
	if code == chat.CodeRefConflict {
		msg = chat.ErrorMessage(err)
	} else {
		c.storeFailed("send: store message", f.Room, err)
		code = chat.CodeInternal
	}
	c.sendError(code, msg, f.Ref, f.Room)
}
