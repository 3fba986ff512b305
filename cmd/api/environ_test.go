package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// environOf turns a literal environment into os.Environ's form.
func environOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func TestPprofAddr(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"", true},
		{"127.0.0.1:6060", true},
		{"127.8.9.10:0", true},
		{"[::1]:6060", true},
		{"localhost:6060", true},
		{":6060", false},
		{"0.0.0.0:6060", false},
		{"[::]:6060", false},
		{"192.0.2.1:6060", false},
		{"example.com:6060", false},
		{"127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := pprofAddr(lookup([]string{"CHAT_PPROF_ADDR=" + tt.addr}))
			if tt.ok != (err == nil) || tt.ok && got != tt.addr {
				t.Fatalf("pprofAddr(%q) = %q, %v; want ok %v", tt.addr, got, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "CHAT_PPROF_ADDR") {
				t.Fatalf("error %q does not name the variable", err)
			}
		})
	}
}

// TestRunWarnsUnknownVariable checks that a misspelt CHAT_ variable is
// named in a warning at start.
func TestRunWarnsUnknownVariable(t *testing.T) {
	s := startRun(t, map[string]string{"CHAT_LOGIN_RAT": "1/1m"})
	var found bool
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		var v struct {
			Level, Msg, Var string
			Suggest         string `json:"did_you_mean"`
		}
		if json.Unmarshal([]byte(line), &v) == nil && v.Var == "CHAT_LOGIN_RAT" {
			found = v.Level == "WARN" && v.Suggest == "CHAT_LOGIN_RATE"
		}
	}
	if !found {
		t.Fatalf("no warning naming CHAT_LOGIN_RAT with a suggestion:\n%s", s.stderr)
	}
}

// TestRunRefusesPublicPprof checks that run refuses a pprof listener on
// every interface.
func TestRunRefusesPublicPprof(t *testing.T) {
	env := map[string]string{"CHAT_ADDR": "127.0.0.1:0", "CHAT_DB_URL": "sqlite:" + t.TempDir() + "/chat.db", "CHAT_PPROF_ADDR": ":6060"}
	err := run(t.Context(), []string{"api"}, environOf(env), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "CHAT_PPROF_ADDR") {
		t.Fatalf("run with CHAT_PPROF_ADDR=:6060: %v, want an error naming it", err)
	}
}
