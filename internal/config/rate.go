package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a throttle of N events per Per, written N/DURATION (5/1m, 20/1h).
// The zero Rate, written 0, turns the throttle off.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate parses "N/DURATION", with N a positive decimal integer and
// DURATION a positive Go duration, or "0" for no limit.
func ParseRate(s string) (Rate, error) {
	if s == "0" {
		return Rate{}, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want N/DURATION or 0", s)
	}
	if ns == "" || strings.TrimLeft(ns, "0123456789") != "" {
		return Rate{}, fmt.Errorf("rate %q: count %q is not a decimal integer", s, ns)
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		return Rate{}, fmt.Errorf("rate %q: count %q is out of range", s, ns)
	}
	if n < 1 {
		return Rate{}, fmt.Errorf("rate %q: count must be at least 1 (0 alone turns the throttle off)", s)
	}
	per, err := time.ParseDuration(ds)
	if err != nil {
		return Rate{}, fmt.Errorf("rate %q: %w", s, err)
	}
	if per <= 0 {
		return Rate{}, fmt.Errorf("rate %q: window must be positive", s)
	}
	return Rate{N: n, Per: per}, nil
}

// Enabled reports whether the throttle is on.
func (r Rate) Enabled() bool { return r.N > 0 && r.Per > 0 }

// String returns r in the form ParseRate accepts.
func (r Rate) String() string {
	if !r.Enabled() {
		return "0"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseRate.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
