package ws

// A worker answers the pings and pongs at the head of the read buffer
// itself, without the WebSocket library: the library handles a control
// frame inside NextReader and then waits there for the next data frame,
// which would keep a goroutine on every socket that answers the server's
// heartbeat. Only well-formed frames are taken (FIN set, no RSV bits,
// masked, at most 125 bytes of data); anything else, close frames
// included, is left to the library, which checks it and closes the socket
// as it always did. Between two messages the library's read state is
// clean, so frames taken off the buffer here are never missed by it.

const (
	opPing = 0x9
	opPong = 0xa
	// maxControl is the most data a control frame carries.
	maxControl = 125
	// controlHead is the header of a masked control frame: two bytes and
	// the masking key.
	controlHead = 2 + 4
)

// controlLen returns the length of the ping or pong frame that b starts
// with and its opcode, or 0 when b does not start with a well-formed one
// (b may hold only part of it).
func controlLen(b []byte) (n int, op byte) {
	if len(b) < 2 {
		return 0, 0
	}
	op = b[0] & 0x0f
	if b[0]&0xf0 != 0x80 || (op != opPing && op != opPong) || b[1]&0x80 == 0 {
		return 0, 0
	}
	size := int(b[1] & 0x7f)
	if size > maxControl {
		return 0, 0
	}
	return controlHead + size, op
}

// controlFrames answers the pings and pongs at the head of the read
// buffer. One that has only partly arrived is waited for. It reports false
// when reading the rest of one failed: the library then meets the error.
func (c *conn) controlFrames() bool {
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		if len(b) == 1 && (b[0] == 0x80|opPing || b[0] == 0x80|opPong) {
			var err error
			if b, err = c.br.Peek(2); err != nil {
				return false
			}
		}
		n, op := controlLen(b)
		if n == 0 {
			return true
		}
		if len(b) < n {
			var err error
			if b, err = c.br.Peek(n); err != nil {
				return false
			}
		}
		data := make([]byte, n-controlHead)
		mask := b[2:controlHead]
		for i, x := range b[controlHead:n] {
			data[i] = x ^ mask[i&3]
		}
		_, _ = c.br.Discard(n)
		if op == opPing {
			c.onPing(data)
		} else {
			c.onPong()
		}
	}
}

// onPing answers a ping of the peer. A ping costs a token of the socket's
// rate bucket like any frame; one beyond the rate gets no pong.
func (c *conn) onPing(data []byte) {
	c.cl.Heard()
	if c.cl.AllowPing() {
		c.queuePong(data)
	}
}

// onPong notes that the peer answered.
func (c *conn) onPong() { c.cl.Heard() }
