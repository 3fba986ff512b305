package config

import (
	"slices"
	"strings"
)

// otherVars are the CHAT_ variables read outside Config: CHAT_PPROF_ADDR
// by cmd/api, and the command-line client's own, which an operator may
// have set in the same shell.
var otherVars = []string{"CHAT_PPROF_ADDR", "CHAT_URL", "CHAT_PASSWORD", "CHAT_CONFIG_DIR"}

// otherPrefixes start the variables of the tests and tools.
var otherPrefixes = []string{"CHAT_TEST_", "CHAT_WEB_"}

// Unknown is a CHAT_ variable the service does not read, and the known
// name it most likely misspells ("" when none is close).
type Unknown struct {
	Name    string
	Suggest string
}

// UnknownVars returns, by name, every CHAT_ variable of environ (KEY=VALUE
// entries, as os.Environ gives them) that nothing in the service reads:
// most likely a misspelling, which would otherwise be ignored in silence.
func UnknownVars(environ []string) []Unknown {
	known := make(map[string]bool)
	for _, v := range variables() {
		known[v.name] = true
	}
	for _, n := range otherVars {
		known[n] = true
	}
	var out []Unknown
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "CHAT_") || known[name] || hasAnyPrefix(name, otherPrefixes) {
			continue
		}
		if slices.ContainsFunc(out, func(u Unknown) bool { return u.Name == name }) {
			continue
		}
		out = append(out, Unknown{Name: name, Suggest: closest(name, known)})
	}
	slices.SortFunc(out, func(a, b Unknown) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// closest returns the known name within an edit distance of 3 of name,
// the nearest first (ties by name), or "".
func closest(name string, known map[string]bool) string {
	best, bestD := "", 4
	for k := range known {
		d := editDistance(name, k)
		if d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
