package broker

import (
	"context"
	"testing"

	"github.com/chatsvc/chat/internal/chat"
)

func TestMemoryBroker(t *testing.T) {
	m := NewMemory()
	var a, b int
	detachA := m.Attach(func(chat.Event) { a++ })
	m.Attach(func(chat.Event) { b++ })
	ev := chat.Event{Kind: chat.EventRevoke, SessionID: "s"}
	_ = m.Publish(context.Background(), ev)
	detachA()
	_ = m.Publish(context.Background(), ev)
	if a != 1 || b != 2 {
		t.Fatalf("handler calls a=%d b=%d, want 1 and 2", a, b)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = m.Publish(context.Background(), ev) }); allocs != 0 {
		t.Errorf("Publish allocates %v times, want 0", allocs)
	}
	_ = m.Close()
	_ = m.Publish(context.Background(), ev)
	if b != 103 {
		t.Errorf("after Close a handler was called: b=%d, want 103", b)
	}
}
