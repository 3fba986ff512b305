package auth

import (
	"strconv"
	"testing"
	"time"
)

func TestMemThrottleWindow(t *testing.T) {
	ctx := t.Context()
	clk := &clock{testT0}
	th := NewMemThrottle(Rate{N: 3, Per: time.Minute}, clk.Now)

	// step is one action at an offset from the window's first event, with
	// the retryAfter it must report (0: allowed).
	type step struct {
		at    time.Duration
		op    string // "hit", "blocked", "reset"
		key   string
		retry time.Duration
	}
	steps := []step{
		{0, "blocked", "a", 0},
		{0, "hit", "a", 0},
		{10 * time.Second, "hit", "a", 0},
		{20 * time.Second, "blocked", "a", 0},
		{20 * time.Second, "hit", "a", 0}, // third event: at the limit, not over
		{20 * time.Second, "blocked", "a", 40 * time.Second},
		{20 * time.Second, "blocked", "b", 0},            // other keys unaffected
		{30 * time.Second, "hit", "a", 30 * time.Second}, // fourth: over
		{59 * time.Second, "blocked", "a", time.Second},
		{60 * time.Second, "blocked", "a", 0}, // window passed
		{60 * time.Second, "hit", "a", 0},     // new window opens at 60s
		{61 * time.Second, "hit", "a", 0},
		{62 * time.Second, "hit", "a", 0},
		{63 * time.Second, "blocked", "a", 57 * time.Second},
		{63 * time.Second, "reset", "a", 0},
		{63 * time.Second, "blocked", "a", 0},
		{63 * time.Second, "hit", "a", 0},
	}
	for i, st := range steps {
		clk.t = testT0.Add(st.at)
		var (
			got time.Duration
			err error
		)
		switch st.op {
		case "hit":
			got, err = th.Hit(ctx, st.key)
		case "blocked":
			got, err = th.Blocked(ctx, st.key)
		case "reset":
			err = th.Reset(ctx, st.key)
		}
		if err != nil {
			t.Fatalf("step %d %s(%s): %v", i, st.op, st.key, err)
		}
		if got != st.retry {
			t.Fatalf("step %d at +%v %s(%s) = %v, want %v", i, st.at, st.op, st.key, got, st.retry)
		}
	}
}

func TestMemThrottleOff(t *testing.T) {
	th := NewMemThrottle(Rate{}, nil)
	for i := range 1000 {
		if d, err := th.Hit(t.Context(), "k"); d != 0 || err != nil {
			t.Fatalf("hit %d = %v, %v; want 0, nil", i, d, err)
		}
	}
	if d, _ := th.Blocked(t.Context(), "k"); d != 0 {
		t.Fatalf("Blocked = %v", d)
	}
	if th.Len() != 0 {
		t.Fatalf("an off throttle stores %d keys", th.Len())
	}
}

func TestMemThrottleSweeps(t *testing.T) {
	clk := &clock{testT0}
	th := NewMemThrottle(Rate{N: 1, Per: time.Minute}, clk.Now)
	for i := range 500 {
		if _, err := th.Hit(t.Context(), "ip-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if th.Len() != 500 {
		t.Fatalf("Len = %d, want 500", th.Len())
	}
	clk.Advance(2 * time.Minute)
	if _, err := th.Hit(t.Context(), "fresh"); err != nil {
		t.Fatal(err)
	}
	if th.Len() != 1 {
		t.Fatalf("Len after the windows expired = %d, want 1", th.Len())
	}
}
