package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// scriptedThrottle answers every call with wait and err and counts the
// calls by method.
type scriptedThrottle struct {
	wait  time.Duration
	err   error
	calls map[string]int
}

func (s *scriptedThrottle) record(op string) {
	if s.calls == nil {
		s.calls = make(map[string]int)
	}
	s.calls[op]++
}

func (s *scriptedThrottle) Blocked(context.Context, string) (time.Duration, error) {
	s.record("Blocked")
	return s.wait, s.err
}

func (s *scriptedThrottle) Hit(context.Context, string) (time.Duration, error) {
	s.record("Hit")
	return s.wait, s.err
}

func (s *scriptedThrottle) Reset(context.Context, string) error {
	s.record("Reset")
	return s.err
}

func TestFallbackThrottle(t *testing.T) {
	errDown := errors.New("shared store down")
	errLocal := errors.New("fallback failed")
	tests := []struct {
		name         string
		primary      scriptedThrottle
		fallback     scriptedThrottle
		cancelled    bool
		wantWait     time.Duration
		wantErr      error
		wantOnError  int
		wantFallback bool // whether Blocked and Hit reach the fallback
	}{
		{
			name:     "primary answers",
			primary:  scriptedThrottle{wait: 3 * time.Second},
			fallback: scriptedThrottle{wait: time.Hour},
			wantWait: 3 * time.Second,
		},
		{
			name:         "primary fails, fallback answers",
			primary:      scriptedThrottle{err: errDown},
			fallback:     scriptedThrottle{wait: 7 * time.Second},
			wantWait:     7 * time.Second,
			wantOnError:  1,
			wantFallback: true,
		},
		{
			name:         "both fail",
			primary:      scriptedThrottle{err: errDown},
			fallback:     scriptedThrottle{err: errLocal},
			wantErr:      errLocal,
			wantOnError:  1,
			wantFallback: true,
		},
		{
			name:      "caller's context done",
			primary:   scriptedThrottle{err: context.Canceled},
			fallback:  scriptedThrottle{wait: time.Hour},
			cancelled: true,
			wantErr:   context.Canceled,
		},
	}
	for _, tt := range tests {
		for _, op := range []string{"Blocked", "Hit"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				primary, fallback := tt.primary, tt.fallback
				var reported []error
				th := NewFallbackThrottle(&primary, &fallback, func(err error) { reported = append(reported, err) })
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.cancelled {
					cancel()
				}
				var (
					wait time.Duration
					err  error
				)
				if op == "Blocked" {
					wait, err = th.Blocked(ctx, "k")
				} else {
					wait, err = th.Hit(ctx, "k")
				}
				if wait != tt.wantWait || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
					t.Fatalf("%s = %v, %v; want %v, %v", op, wait, err, tt.wantWait, tt.wantErr)
				}
				if len(reported) != tt.wantOnError {
					t.Fatalf("onError called %d times (%v), want %d", len(reported), reported, tt.wantOnError)
				}
				for _, e := range reported {
					if !errors.Is(e, errDown) {
						t.Fatalf("onError got %v, want the primary's error", e)
					}
				}
				if primary.calls[op] != 1 {
					t.Fatalf("primary %s called %d times, want 1", op, primary.calls[op])
				}
				if got := fallback.calls[op] == 1; got != tt.wantFallback {
					t.Fatalf("fallback %s called: %v, want %v", op, got, tt.wantFallback)
				}
			})
		}
	}
}

func TestFallbackThrottleReset(t *testing.T) {
	errDown := errors.New("shared store down")
	ctx := context.Background()

	primary, fallback := &scriptedThrottle{}, &scriptedThrottle{}
	var onError int
	th := NewFallbackThrottle(primary, fallback, func(error) { onError++ })
	if err := th.Reset(ctx, "k"); err != nil {
		t.Fatalf("Reset = %v", err)
	}
	if primary.calls["Reset"] != 1 || fallback.calls["Reset"] != 1 || onError != 0 {
		t.Fatalf("Reset reached primary %d, fallback %d times, onError %d; want 1, 1, 0",
			primary.calls["Reset"], fallback.calls["Reset"], onError)
	}

	primary.err = errDown
	if err := th.Reset(ctx, "k"); err != nil {
		t.Fatalf("Reset with the primary down = %v, want the fallback's nil", err)
	}
	if onError != 1 {
		t.Fatalf("onError called %d times, want 1", onError)
	}
}

func TestFallbackThrottleNilOnError(t *testing.T) {
	th := NewFallbackThrottle(&scriptedThrottle{err: errors.New("down")}, &scriptedThrottle{wait: time.Second}, nil)
	if wait, err := th.Hit(context.Background(), "k"); err != nil || wait != time.Second {
		t.Fatalf("Hit = %v, %v; want 1s from the fallback", wait, err)
	}
}

// TestFallbackThrottleKeepsLimitPerNode: with a failing primary, a
// MemThrottle fallback enforces the limit.
func TestFallbackThrottleKeepsLimitPerNode(t *testing.T) {
	rate := Rate{N: 2, Per: time.Minute}
	th := NewFallbackThrottle(&scriptedThrottle{err: errors.New("down")}, NewMemThrottle(rate, nil), nil)
	ctx := context.Background()
	for i := range rate.N {
		if wait, err := th.Hit(ctx, "k"); err != nil || wait != 0 {
			t.Fatalf("Hit %d = %v, %v; want 0, nil", i+1, wait, err)
		}
	}
	if wait, err := th.Hit(ctx, "k"); err != nil || wait <= 0 {
		t.Fatalf("Hit over the limit = %v, %v; want a wait", wait, err)
	}
}
