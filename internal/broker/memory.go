// Package broker carries events between the nodes of the chat service. The
// hub sees one small interface; Memory connects hubs inside one process
// (one node, or several in a test) and Redis connects processes.
package broker

import (
	"context"
	"sync"

	"github.com/chatsvc/chat/internal/chat"
)

// Handler receives the events published by other nodes.
type Handler func(chat.Event)

// Memory is the in-process broker: every attached handler receives every
// published event, synchronously. The zero value is ready to use.
type Memory struct {
	mu       sync.RWMutex
	handlers map[int]Handler
	next     int
}

// NewMemory returns an empty in-process broker.
func NewMemory() *Memory { return &Memory{} }

// Attach adds a handler and returns the function that removes it.
func (m *Memory) Attach(h Handler) (detach func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.handlers == nil {
		m.handlers = make(map[int]Handler)
	}
	id := m.next
	m.next++
	m.handlers[id] = h
	return func() {
		m.mu.Lock()
		delete(m.handlers, id)
		m.mu.Unlock()
	}
}

// Publish hands ev to every attached handler. It never fails.
func (m *Memory) Publish(_ context.Context, ev chat.Event) error {
	m.mu.RLock()
	hs := make([]Handler, 0, len(m.handlers))
	for _, h := range m.handlers {
		hs = append(hs, h)
	}
	m.mu.RUnlock()
	for _, h := range hs {
		h(ev)
	}
	return nil
}

// Ping reports the broker's health; the in-process broker is always up.
func (m *Memory) Ping(context.Context) error { return nil }

// Close detaches every handler.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.handlers = nil
	m.mu.Unlock()
	return nil
}
