package hub

import "github.com/chatsvc/chat/internal/chat"

// The socket's limits as its transport enforces them. A transport asks the
// rate bucket for a frame before it reads the frame's body, so a frame
// beyond the rate costs no decoding; it ends a socket whose writes stall
// as a slow consumer. Every method here is called from the socket's
// reader (the goroutine calling Handle) unless it says otherwise.

// Allow takes one token of the socket's rate bucket (CHAT_RATE_MSGS,
// CHAT_RATE_BURST) for a frame whose header the transport has just read,
// and reports whether there was one. A data frame it allows is carried out
// with HandleAllowed; one it refuses is answered with Refuse.
func (c *Client) Allow() bool { return c.limiter.Allow() }

// AllowPing takes a token for a ping of the peer, as Allow does, and
// counts a refused one in chat_rate_limited_total{scope="ws"}. A refused
// ping gets no pong: the contract's rate_limited error answers commands,
// and a ping is none.
func (c *Client) AllowPing() bool {
	if c.limiter.Allow() {
		return true
	}
	c.hub.m.RateLimitedWS.Inc()
	return false
}

// HandleAllowed carries out a frame as Handle does, for a transport that
// already took its token with Allow: the frame costs no second one.
func (h *Hub) HandleAllowed(c *Client, data []byte) {
	c.admitted = true
	h.Handle(c, data)
	c.admitted = false
}

// Refuse answers a frame that Allow refused, whose body the transport read
// but nothing decoded: it is counted and gets the rate_limited error with
// the ref and room a scan of its top level finds (chat.PeekRefRoom).
func (h *Hub) Refuse(c *Client, data []byte) {
	h.m.RateLimitedWS.Inc()
	ref, room := chat.PeekRefRoom(data)
	c.inOrder(func() { c.sendError(chat.CodeRateLimited, "too many frames; slow down", ref, room) })
}

// TooSlow closes the socket with 4008 and counts it as a slow consumer,
// for a transport whose write to the peer could not finish in time. It may
// be called from any goroutine holding none of the socket's locks.
func (c *Client) TooSlow() { c.tooSlow() }
