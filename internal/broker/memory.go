// Package broker carries events between the nodes of the chat service. The
// hub sees one small interface; Memory connects hubs inside one process
// (one node, or several in a test) and Redis connects processes.
package broker

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/chatsvc/chat/internal/chat"
)

// Handler receives the events published by other nodes.
type Handler func(chat.Event)

// Memory is the in-process broker: every attached handler receives every
// published event, synchronously. The zero value is ready to use.
type Memory struct {
	mu       sync.Mutex // serialises changes to handlers
	handlers atomic.Pointer[[]attached]
	next     int
}

type attached struct {
	id int
	h  Handler
}

// NewMemory returns an empty in-process broker.
func NewMemory() *Memory { return &Memory{} }

// Attach adds a handler and returns the function that removes it.
func (m *Memory) Attach(h Handler) (detach func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.next
	m.next++
	m.store(append(slices.Clone(m.load()), attached{id: id, h: h}))
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.store(slices.DeleteFunc(slices.Clone(m.load()), func(a attached) bool { return a.id == id }))
	}
}

func (m *Memory) load() []attached {
	if p := m.handlers.Load(); p != nil {
		return *p
	}
	return nil
}

// store replaces the handler list; a published event sees one list whole.
func (m *Memory) store(hs []attached) { m.handlers.Store(&hs) }

// Publish hands ev to every attached handler. It never fails, and it
// allocates nothing: it runs for every message of a single node.
func (m *Memory) Publish(_ context.Context, ev chat.Event) error {
	for _, a := range m.load() {
		a.h(ev)
	}
	return nil
}

// Ping reports the broker's health; the in-process broker is always up.
func (m *Memory) Ping(context.Context) error { return nil }

// Close detaches every handler.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.store(nil)
	m.mu.Unlock()
	return nil
}
