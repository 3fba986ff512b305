package chat

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a throttle limit: at most N events per key in a window of Per,
// written N/DURATION (5/1m, 20/1h). The zero Rate, written 0, is off.
type Rate struct {
	N   int
	Per time.Duration
}

// rateSyntax is what ParseRate accepts, quoted in its errors.
const rateSyntax = "want N/DURATION such as 5/1m or 20/1h (N a decimal integer of at least 1, DURATION a positive Go duration), or 0 to turn the limit off"

// ParseRate parses "N/DURATION", with N a decimal integer of at least 1 and
// DURATION a positive Go duration, or "0" for the Rate that is off. A
// failed parse returns the zero Rate.
func ParseRate(s string) (Rate, error) {
	if s == "0" {
		return Rate{}, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: %s", s, rateSyntax)
	}
	if ns == "" || strings.TrimLeft(ns, "0123456789") != "" {
		return Rate{}, fmt.Errorf("rate %q: count %q is not a decimal integer: %s", s, ns, rateSyntax)
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		return Rate{}, fmt.Errorf("rate %q: count %q is out of range: %s", s, ns, rateSyntax)
	}
	if n < 1 {
		return Rate{}, fmt.Errorf("rate %q: count must be at least 1 (0 alone turns the limit off): %s", s, rateSyntax)
	}
	per, err := time.ParseDuration(ds)
	if err != nil || per <= 0 {
		return Rate{}, fmt.Errorf("rate %q: bad duration %q: %s", s, ds, rateSyntax)
	}
	return Rate{N: n, Per: per}, nil
}

// Off reports whether r never limits anything.
func (r Rate) Off() bool { return r.N <= 0 || r.Per <= 0 }

// String returns r in the form ParseRate reads.
func (r Rate) String() string {
	if r.Off() {
		return "0"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}
