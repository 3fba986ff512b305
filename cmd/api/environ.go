package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/chatsvc/chat/internal/config"
)

// lookup returns a getenv over environ (KEY=VALUE entries, as os.Environ
// gives them); a later entry of the same key wins, as in the process.
func lookup(environ []string) func(string) string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

// warnUnknown logs every CHAT_ variable of environ that the service does
// not read, so a misspelt setting is noticed instead of ignored.
func warnUnknown(log *slog.Logger, environ []string) {
	for _, u := range config.UnknownVars(environ) {
		if u.Suggest != "" {
			log.Warn("unknown configuration variable ignored", "var", u.Name, "did_you_mean", u.Suggest)
			continue
		}
		log.Warn("unknown configuration variable ignored", "var", u.Name)
	}
}

// pprofAddr returns CHAT_PPROF_ADDR, empty when unset. It is outside the
// contract and config.Config: a switch for profiling, off by default, and
// only on a loopback address, since profiles reveal the process's
// internals. localhost is accepted as a name for loopback.
func pprofAddr(getenv func(string) string) (string, error) {
	addr := getenv("CHAT_PPROF_ADDR")
	if addr == "" {
		return "", nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("CHAT_PPROF_ADDR: must be a loopback address host:port such as 127.0.0.1:6060, got %q", addr)
	}
	if host == "localhost" {
		return addr, nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
		return addr, nil
	}
	return "", fmt.Errorf("CHAT_PPROF_ADDR: must be a loopback address host:port such as 127.0.0.1:6060 (profiles reveal the process's internals), got %q", addr)
}
