package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/chatsvc/chat/internal/chat"
)

// Address grouping of the throttles: an IPv6 client usually holds a whole
// /64 (and often a /56), so counting by exact address would give it 2^64
// tries. IPv4 addresses count one by one.
const (
	loginV6Bits    = 64
	registerV6Bits = 56
)

// addrKey returns the throttle key of a client address: an IPv4 address as
// it is, an IPv6 address as its /bits prefix. Anything that is not an
// address is its own key.
func addrKey(clientIP string, bits int) string {
	a, err := netip.ParseAddr(clientIP)
	if err != nil {
		return clientIP
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// hit reserves one attempt of key in t before the work it guards is done,
// so that concurrent attempts cannot all pass a check made before any of
// them was counted. It returns a too_many_attempts error when key is over
// its limit.
func hit(ctx context.Context, t Throttle, key string) error {
	retry, err := t.Hit(ctx, key)
	if err != nil {
		return err
	}
	if retry > 0 {
		return tooManyAttempts(retry)
	}
	return nil
}

// Register creates an account. Errors: registration_closed,
// too_many_attempts (per client address, IPv6 by /56), invalid_request
// (username or password shape), username_taken.
func (s *Service) Register(ctx context.Context, username, password, clientIP string) (chat.User, error) {
	if !s.allowRegistration {
		return chat.User{}, errRegistrationClosed
	}
	if err := hit(ctx, s.registerT, addrKey(clientIP, registerV6Bits)); err != nil {
		if chat.ErrorCode(err) == chat.CodeTooManyAttempts {
			inc(s.m.rateLimitedRegister)
			return chat.User{}, err
		}
		return chat.User{}, fmt.Errorf("auth: register: throttle: %w", err)
	}
	name, err := chat.NormalizeUsername(username)
	if err != nil {
		return chat.User{}, err
	}
	if err := chat.ValidatePassword(password); err != nil {
		return chat.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return chat.User{}, fmt.Errorf("auth: register: %w", err)
	}
	u, err := s.store.CreateUser(ctx, name, hash)
	if err != nil {
		return chat.User{}, fmt.Errorf("auth: register: %w", err)
	}
	return u, nil
}

// Login checks a username and password and starts a session. Errors:
// too_many_attempts (per client address; per username and address after
// too many failures, even with the right password; per username from every
// address), invalid_request (a username or password that no account can
// have), invalid_credentials (the same for an unknown user and a wrong
// password, after the same amount of hashing).
//
// Every throttle slot is taken before the password is checked, so that
// concurrent guesses are counted as they come; a good password gives the
// username-and-address slot back.
func (s *Service) Login(ctx context.Context, username, password, clientIP string) (chat.TokenPair, chat.User, error) {
	pair, u, result, err := s.login(ctx, username, password, clientIP)
	switch result {
	case loginSuccess:
		inc(s.m.loginSuccess)
	case loginFailure:
		inc(s.m.loginFailure)
	case loginThrottled:
		inc(s.m.loginThrottled)
		inc(s.m.rateLimitedLogin)
	default:
		inc(s.m.loginError)
	}
	return pair, u, err
}

func (s *Service) login(ctx context.Context, username, password, clientIP string) (chat.TokenPair, chat.User, string, error) {
	addr := addrKey(clientIP, loginV6Bits)
	if err := hit(ctx, s.loginIPT, addr); err != nil {
		return s.throttled(ctx, err, "ip", "", addr)
	}
	name, err := chat.NormalizeUsername(username)
	if err != nil {
		return chat.TokenPair{}, chat.User{}, loginFailure, err
	}
	if err := chat.ValidatePassword(password); err != nil {
		return chat.TokenPair{}, chat.User{}, loginFailure, err
	}
	key := name + "|" + addr
	if err := hit(ctx, s.loginT, key); err != nil {
		return s.throttled(ctx, err, "user", name, addr)
	}
	if err := hit(ctx, s.loginUserT, name); err != nil {
		return s.throttled(ctx, err, "username", name, addr)
	}
	u, ok, err := s.checkPassword(ctx, name, password)
	if err != nil {
		return chat.TokenPair{}, chat.User{}, loginError, fmt.Errorf("auth: login: %w", err)
	}
	if !ok {
		return chat.TokenPair{}, chat.User{}, loginFailure, errInvalidCredentials
	}
	if !u.SuspendedAt.IsZero() {
		return chat.TokenPair{}, chat.User{}, loginFailure, chat.ErrAccountSuspended
	}
	if err := s.loginT.Reset(ctx, key); err != nil {
		// The login is good; a stale failure count only shortens this
		// pair's allowance until its window ends.
		s.log.WarnContext(ctx, "login throttle reset failed", "user_id", u.ID, "err", err)
	}
	now := s.now()
	refresh, refreshHash, err := NewRefreshToken()
	if err != nil {
		return chat.TokenPair{}, chat.User{}, loginError, fmt.Errorf("auth: login: %w", err)
	}
	sess, err := s.store.CreateSession(ctx, u.ID, refreshHash, now.Add(s.refreshTTL))
	if err != nil {
		return chat.TokenPair{}, chat.User{}, loginError, fmt.Errorf("auth: login: %w", err)
	}
	access, _, err := s.tokens.Issue(u, sess.ID)
	if err != nil {
		return chat.TokenPair{}, chat.User{}, loginError, fmt.Errorf("auth: login: %w", err)
	}
	return s.pair(access, refresh, sess, now), u, loginSuccess, nil
}

// throttled turns the error of a throttle into Login's answer.
func (s *Service) throttled(ctx context.Context, err error, scope, name, addr string) (chat.TokenPair, chat.User, string, error) {
	if chat.ErrorCode(err) != chat.CodeTooManyAttempts {
		return chat.TokenPair{}, chat.User{}, loginError, fmt.Errorf("auth: login: %s throttle: %w", scope, err)
	}
	s.log.InfoContext(ctx, "login throttled", "scope", scope, "username", name, "client_ip", addr)
	return chat.TokenPair{}, chat.User{}, loginThrottled, err
}

// checkPassword verifies password against the user name; an unknown user
// costs the same hashing as a known one.
func (s *Service) checkPassword(ctx context.Context, name, password string) (chat.User, bool, error) {
	u, hash, err := s.store.UserByName(ctx, name)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return chat.User{}, false, s.hasher.VerifyDummy(ctx, password)
	case err != nil:
		return chat.User{}, false, err
	}
	ok, err := s.hasher.Verify(ctx, password, hash)
	if err != nil {
		return chat.User{}, false, fmt.Errorf("user %s: %w", u.ID, err)
	}
	return u, ok, nil
}

// pair returns a token pair of access and refresh in sess.
func (s *Service) pair(access, refresh string, sess chat.Session, now time.Time) chat.TokenPair {
	return chat.TokenPair{
		AccessToken:      access,
		TokenType:        "Bearer",
		ExpiresIn:        wholeSeconds(s.tokens.TokenTTL()),
		RefreshToken:     refresh,
		RefreshExpiresIn: wholeSeconds(sess.ExpiresAt.Sub(now)),
	}
}

// wholeSeconds rounds d to the nearest second, never below 0.
func wholeSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(d.Round(time.Second) / time.Second)
}
