//go:build !linux

package ws

import "errors"

// poller is the epoll read side, which exists on Linux only: elsewhere
// every socket keeps a reader goroutine.
type poller struct{ active *tally }

func newPoller(*handler, *tally) (*poller, error) {
	return nil, errors.New("no epoll on this system")
}

const epollAdd = 0

func (p *poller) prepare(*conn)       {}
func (p *poller) ctl(*conn, int) bool { return false }
func (p *poller) rearm(*conn) bool    { return false }
func (p *poller) remove(*conn)        {}
func (p *poller) work(*conn)          {}
func (p *poller) stop() []*conn       { return nil }
func (p *poller) close()              {}
