package client

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{1, 250 * time.Millisecond},
		{2, 500 * time.Millisecond},
		{3, time.Second},
		{6, 8 * time.Second},
		{7, 10 * time.Second},
		{100, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.ceiling.String(), func(t *testing.T) {
			var longest time.Duration
			for range 2000 {
				d := backoff(tt.attempt)
				if d < 0 || d > tt.ceiling {
					t.Fatalf("backoff(%d) = %s, want within [0, %s]", tt.attempt, d, tt.ceiling)
				}
				longest = max(longest, d)
			}
			// Full jitter spreads over the whole range.
			if longest < tt.ceiling*9/10 {
				t.Errorf("backoff(%d): longest of 2000 is %s, want near %s", tt.attempt, longest, tt.ceiling)
			}
		})
	}
}

func TestRefreshTime(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		life  time.Duration
		floor time.Duration
		want  time.Duration // after t0
	}{
		{"long token at 80%", 15 * time.Minute, minRefreshInterval, 12 * time.Minute},
		{"short token a margin before expiry", 2 * time.Second, minRefreshInterval, time.Second},
		{"very short token at half its life", 1500 * time.Millisecond, minRefreshInterval, 750 * time.Millisecond},
		{"token of no life after the floor", 0, minRefreshInterval, minRefreshInterval},
		{"expired token read from disk at once", -time.Minute, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refreshTime(t0, t0.Add(tt.life), tt.floor).Sub(t0); got != tt.want {
				t.Errorf("refresh %s after getting a token of %s, want %s", got, tt.life, tt.want)
			}
		})
	}
}
