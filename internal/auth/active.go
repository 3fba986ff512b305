package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// ActiveSessionStore is an optional Store capability: it reads which of
// many sessions are active (not revoked, not expired at now) at once. A
// Store without it is asked one session at a time.
type ActiveSessionStore interface {
	ActiveSessions(ctx context.Context, ids []string, now time.Time) ([]string, error)
}

// InactiveSessions reports which of ids are no longer active: revoked,
// expired or unknown. It is the check of the sessions of sockets that are
// already open, which Authenticate checked once at their handshake. A
// session this Service remembers as active (see Authenticate) is taken to
// be; a revocation seen by this node is forgotten at once. Sessions of the
// external provider have no state here and are always active. When the
// store fails the error wraps ErrStore and nothing is reported inactive.
func (s *Service) InactiveSessions(ctx context.Context, ids []string) ([]string, error) {
	now := s.now()
	var ask []string
	s.mu.Lock()
	for _, id := range ids {
		if strings.HasPrefix(id, ExternalSessionPrefix) {
			continue
		}
		if cached, ok := s.sessions[id]; ok && now.Before(cached.until) {
			continue
		}
		ask = append(ask, id)
	}
	s.mu.Unlock()
	if len(ask) == 0 {
		return nil, nil
	}
	active, err := s.activeSessions(ctx, ask, now)
	if err != nil {
		return nil, fmt.Errorf("auth: check sessions: %w: %w", ErrStore, err)
	}
	var inactive []string
	for _, id := range ask {
		if !active[id] {
			inactive = append(inactive, id)
		}
	}
	return inactive, nil
}

// activeSessions returns the set of the active sessions among ids, read
// from the store.
func (s *Service) activeSessions(ctx context.Context, ids []string, now time.Time) (map[string]bool, error) {
	active := make(map[string]bool, len(ids))
	if batch, ok := s.store.(ActiveSessionStore); ok {
		got, err := batch.ActiveSessions(ctx, ids, now)
		if err != nil {
			return nil, err
		}
		for _, id := range got {
			active[id] = true
		}
		return active, nil
	}
	for _, id := range ids {
		sess, err := s.store.Session(ctx, id)
		switch {
		case errors.Is(err, chat.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			active[id] = sess.Active(now)
		}
	}
	return active, nil
}
