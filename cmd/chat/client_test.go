package main

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

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello, wörld 👋", "hello, wörld 👋"},
		{"tab kept", "a\tb", "a\tb"},
		{"lines indented", "one\ntwo\r\nthree", "one\n    two\n    three"},
		{"lone carriage return", "a\rb", "a\uFFFDb"},
		{"escape", "a\x1b[2Jb", "a\uFFFD[2Jb"},
		{"C1 control", "a\u009b2Jb", "a\uFFFD2Jb"},
		{"delete", "a\x7fb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := printable(tt.in); got != tt.want {
				t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReadsServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want bool
	}{
		{"/rooms", true},
		{"/history 5", true},
		{"/history", true},
		{"/join x", false},
		{"/leave", false},
		{"/quit", false},
		{"/historyx", false},
		{"hello /rooms", false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			if got := readsServer(tt.line); got != tt.want {
				t.Errorf("readsServer(%q) = %v, want %v", tt.line, got, tt.want)
			}
		})
	}
}

func TestWSURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://localhost:8080", "ws://localhost:8080/ws"},
		{"https://chat.example.com/", "wss://chat.example.com/ws"},
		{"https://example.com/chat", "wss://example.com/chat/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			api, err := newAPIClient(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := api.wsURL(); got != tt.want {
				t.Errorf("wsURL of %q = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"localhost:8080", "ftp://x", "http://"} {
		if _, err := newAPIClient(bad); err == nil {
			t.Errorf("newAPIClient(%q) accepted a bad URL", bad)
		}
	}
}
