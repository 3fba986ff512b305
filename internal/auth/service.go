package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
)

// DefaultRefreshTTL is the session lifetime when ServiceOptions leaves it 0.
const DefaultRefreshTTL = 720 * time.Hour

// Store is the storage the Service needs. Usernames passed to it are
// already normalised; refresh tokens are passed as their hashes.
type Store interface {
	// CreateUser stores a new user; chat.ErrUsernameTaken when the name is
	// taken.
	CreateUser(ctx context.Context, username, passwordHash string) (chat.User, error)
	// UserByName returns a user and its password hash; chat.ErrNotFound.
	UserByName(ctx context.Context, username string) (chat.User, string, error)
	// UserByID returns a user; chat.ErrNotFound.
	UserByID(ctx context.Context, id string) (chat.User, error)
	// CreateSession starts a session whose first refresh token has hash
	// refreshHash.
	CreateSession(ctx context.Context, userID string, refreshHash []byte, expiresAt time.Time) (chat.Session, error)
	// RotateRefresh spends the refresh token oldHash and makes newHash the
	// session's current one. An unknown, expired or revoked token gives an
	// error with code invalid_token and a zero Session; a token already
	// spent revokes its session and gives an error together with that
	// session.
	RotateRefresh(ctx context.Context, oldHash, newHash []byte, now time.Time) (chat.Session, error)
	// RevokeByRefresh revokes the session of any of its refresh tokens,
	// idempotently; invalid_token for an unknown or expired one.
	RevokeByRefresh(ctx context.Context, hash []byte, now time.Time) (chat.Session, error)
	// Session returns a session by id; chat.ErrNotFound.
	Session(ctx context.Context, id string) (chat.Session, error)
}

// ServiceOptions configures a Service. Store, Tokens and Hasher are
// required; a nil throttle is off.
type ServiceOptions struct {
	Store  Store
	Tokens *Tokens
	Hasher *Hasher
	// RefreshTTL is the session lifetime from login; DefaultRefreshTTL when 0.
	RefreshTTL        time.Duration
	AllowRegistration bool
	// LoginThrottle counts failed logins per username and client IP.
	LoginThrottle Throttle
	// LoginIPThrottle counts every login attempt per client IP.
	LoginIPThrottle Throttle
	// RegisterThrottle counts every registration attempt per client IP.
	RegisterThrottle Throttle
	// OnRevoke, when set, is called with the id of every session this
	// Service revokes (logout, refresh-token reuse), after the store has
	// recorded it, so the caller can close its sockets on every node.
	OnRevoke func(sessionID string)
	// External, when set, also accepts the access tokens of an OpenID
	// Connect provider (see OIDC); nil accepts only this service's tokens.
	External *OIDC
	Metrics  *metrics.Metrics // optional
	Logger   *slog.Logger     // optional
	Now      func() time.Time // time.Now when nil
}

// Service registers users, logs them in, rotates and revokes refresh tokens
// and authenticates access tokens. It is safe for concurrent use.
type Service struct {
	store             Store
	tokens            *Tokens
	hasher            *Hasher
	refreshTTL        time.Duration
	allowRegistration bool
	loginT, loginIPT  Throttle
	registerT         Throttle
	onRevoke          func(string)
	external          *OIDC
	log               *slog.Logger
	now               func() time.Time
	m                 serviceMetrics

	mu       sync.Mutex
	sessions map[string]cachedSession // by session id
	gen      uint64                   // bumped by every Forget
}

// serviceMetrics are the resolved counters the Service updates; any of them
// may be nil.
type serviceMetrics struct {
	loginSuccess, loginFailure, loginThrottled, loginError      prometheus.Counter
	refreshSuccess, refreshInvalid, refreshReused, refreshError prometheus.Counter
	rateLimitedLogin, rateLimitedRegister                       prometheus.Counter
}

func inc(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

// Login results counted by chat_auth_logins_total.
const (
	loginSuccess   = "success"
	loginFailure   = "failure"
	loginThrottled = "throttled"
	loginError     = "error"
)

// Refresh results counted by chat_auth_refreshes_total.
const (
	refreshSuccess = "success"
	refreshInvalid = "invalid"
	refreshReused  = "reused"
	refreshError   = "error"
)

// errInvalidCredentials is the single answer to an unknown user and a wrong
// password.
var errInvalidCredentials = &chat.Error{Code: chat.CodeInvalidCredentials, Message: "invalid username or password"}

// errRegistrationClosed answers a registration while it is turned off.
var errRegistrationClosed = &chat.Error{Code: chat.CodeRegistrationClosed, Message: "registration is closed"}

// NewService returns a Service built on o.
func NewService(o ServiceOptions) *Service {
	s := &Service{
		store:             o.Store,
		tokens:            o.Tokens,
		hasher:            o.Hasher,
		refreshTTL:        o.RefreshTTL,
		allowRegistration: o.AllowRegistration,
		loginT:            orOff(o.LoginThrottle),
		loginIPT:          orOff(o.LoginIPThrottle),
		registerT:         orOff(o.RegisterThrottle),
		onRevoke:          o.OnRevoke,
		external:          o.External,
		log:               o.Logger,
		now:               o.Now,
		sessions:          make(map[string]cachedSession),
	}
	if s.refreshTTL <= 0 {
		s.refreshTTL = DefaultRefreshTTL
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if m := o.Metrics; m != nil {
		s.m = serviceMetrics{
			loginSuccess:        m.AuthLogins.WithLabelValues(loginSuccess),
			loginFailure:        m.AuthLogins.WithLabelValues(loginFailure),
			loginThrottled:      m.AuthLogins.WithLabelValues(loginThrottled),
			loginError:          m.AuthLogins.WithLabelValues(loginError),
			refreshSuccess:      m.AuthRefreshes.WithLabelValues(refreshSuccess),
			refreshInvalid:      m.AuthRefreshes.WithLabelValues(refreshInvalid),
			refreshReused:       m.AuthRefreshes.WithLabelValues(refreshReused),
			refreshError:        m.AuthRefreshes.WithLabelValues(refreshError),
			rateLimitedLogin:    m.RateLimitedLogin,
			rateLimitedRegister: m.RateLimitedRegister,
		}
	}
	return s
}

// offThrottle is the Throttle of a nil option: it never blocks.
type offThrottle struct{}

func (offThrottle) Blocked(context.Context, string) (time.Duration, error) { return 0, nil }
func (offThrottle) Hit(context.Context, string) (time.Duration, error)     { return 0, nil }
func (offThrottle) Reset(context.Context, string) error                    { return nil }

func orOff(t Throttle) Throttle {
	if t == nil {
		return offThrottle{}
	}
	return t
}

// tooManyAttempts is the 429 answer with the wait rounded up to a second.
func tooManyAttempts(retryAfter time.Duration) *chat.Error {
	secs := (retryAfter + time.Second - 1) / time.Second
	if secs < 1 {
		secs = 1
	}
	return &chat.Error{
		Code:       chat.CodeTooManyAttempts,
		Message:    fmt.Sprintf("too many attempts, try again in %d s", secs),
		RetryAfter: secs * time.Second,
	}
}

// Register creates an account. Errors: registration_closed,
// too_many_attempts (per client IP), invalid_request (username or password
// shape), username_taken.
func (s *Service) Register(ctx context.Context, username, password, clientIP string) (chat.User, error) {
	if !s.allowRegistration {
		return chat.User{}, errRegistrationClosed
	}
	retry, err := s.registerT.Hit(ctx, clientIP)
	if err != nil {
		return chat.User{}, fmt.Errorf("auth: register: throttle: %w", err)
	}
	if retry > 0 {
		inc(s.m.rateLimitedRegister)
		return chat.User{}, tooManyAttempts(retry)
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
// too_many_attempts (per client IP, or after too many failures for this
// username from this IP, even with the right password), invalid_request
// (a username or password that no account can have), invalid_credentials
// (the same for an unknown user and a wrong password, after the same
// amount of hashing).
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
	var (
		pair chat.TokenPair
		u    chat.User
	)
	retry, err := s.loginIPT.Hit(ctx, clientIP)
	if err != nil {
		return pair, u, loginError, fmt.Errorf("auth: login: ip throttle: %w", err)
	}
	if retry > 0 {
		s.log.InfoContext(ctx, "login throttled", "scope", "ip", "client_ip", clientIP)
		return pair, u, loginThrottled, tooManyAttempts(retry)
	}
	name, err := chat.NormalizeUsername(username)
	if err != nil {
		return pair, u, loginFailure, err
	}
	if err := chat.ValidatePassword(password); err != nil {
		return pair, u, loginFailure, err
	}
	key := name + "|" + clientIP
	if retry, err := s.loginT.Blocked(ctx, key); err != nil {
		return pair, u, loginError, fmt.Errorf("auth: login: throttle: %w", err)
	} else if retry > 0 {
		s.log.InfoContext(ctx, "login throttled", "scope", "user", "username", name, "client_ip", clientIP)
		return pair, u, loginThrottled, tooManyAttempts(retry)
	}

	u, hash, err := s.store.UserByName(ctx, name)
	var ok bool
	switch {
	case errors.Is(err, chat.ErrNotFound):
		if err := s.hasher.VerifyDummy(ctx, password); err != nil {
			return pair, u, loginError, fmt.Errorf("auth: login: %w", err)
		}
	case err != nil:
		return pair, u, loginError, fmt.Errorf("auth: login: %w", err)
	default:
		if ok, err = s.hasher.Verify(ctx, password, hash); err != nil {
			return pair, chat.User{}, loginError, fmt.Errorf("auth: login: user %s: %w", u.ID, err)
		}
	}
	if !ok {
		if _, err := s.loginT.Hit(ctx, key); err != nil {
			return pair, chat.User{}, loginError, fmt.Errorf("auth: login: throttle: %w", err)
		}
		return pair, chat.User{}, loginFailure, errInvalidCredentials
	}

	if err := s.loginT.Reset(ctx, key); err != nil {
		// The login is good; a stale failure count only shortens this
		// pair's allowance until its window ends.
		s.log.WarnContext(ctx, "login throttle reset failed", "user_id", u.ID, "err", err)
	}
	now := s.now()
	refresh, refreshHash, err := NewRefreshToken()
	if err != nil {
		return pair, chat.User{}, loginError, fmt.Errorf("auth: login: %w", err)
	}
	sess, err := s.store.CreateSession(ctx, u.ID, refreshHash, now.Add(s.refreshTTL))
	if err != nil {
		return pair, chat.User{}, loginError, fmt.Errorf("auth: login: %w", err)
	}
	pair, err = s.pair(u, sess, refresh, now)
	if err != nil {
		return pair, chat.User{}, loginError, fmt.Errorf("auth: login: %w", err)
	}
	return pair, u, loginSuccess, nil
}

// pair issues an access token for u in sess and returns it with refresh.
func (s *Service) pair(u chat.User, sess chat.Session, refresh string, now time.Time) (chat.TokenPair, error) {
	access, _, err := s.tokens.Issue(u, sess.ID)
	if err != nil {
		return chat.TokenPair{}, err
	}
	return chat.TokenPair{
		AccessToken:      access,
		TokenType:        "Bearer",
		ExpiresIn:        wholeSeconds(s.tokens.TokenTTL()),
		RefreshToken:     refresh,
		RefreshExpiresIn: wholeSeconds(sess.ExpiresAt.Sub(now)),
	}, nil
}

// wholeSeconds rounds d to the nearest second, never below 0.
func wholeSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(d.Round(time.Second) / time.Second)
}

// Refresh spends refreshToken and returns a new pair in the same session.
// An unknown, expired, revoked or spent token is invalid_token; a spent one
// also revokes its session (the token was stolen or replayed), evicts it and
// reports it to OnRevoke.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (chat.TokenPair, error) {
	pair, result, err := s.refresh(ctx, refreshToken)
	switch result {
	case refreshSuccess:
		inc(s.m.refreshSuccess)
	case refreshInvalid:
		inc(s.m.refreshInvalid)
	case refreshReused:
		inc(s.m.refreshReused)
	default:
		inc(s.m.refreshError)
	}
	return pair, err
}

func (s *Service) refresh(ctx context.Context, refreshToken string) (chat.TokenPair, string, error) {
	if refreshToken == "" || len(refreshToken) > maxRefreshTokenLen {
		return chat.TokenPair{}, refreshInvalid, chat.ErrInvalidToken
	}
	next, nextHash, err := NewRefreshToken()
	if err != nil {
		return chat.TokenPair{}, refreshError, fmt.Errorf("auth: refresh: %w", err)
	}
	now := s.now()
	sess, err := s.store.RotateRefresh(ctx, HashRefreshToken(refreshToken), nextHash, now)
	switch {
	case err != nil && sess.ID != "":
		s.log.WarnContext(ctx, "spent refresh token presented, session revoked",
			"session_id", sess.ID, "user_id", sess.UserID)
		s.revoked(sess.ID)
		return chat.TokenPair{}, refreshReused, chat.ErrInvalidToken
	case chat.ErrorCode(err) == chat.CodeInvalidToken:
		return chat.TokenPair{}, refreshInvalid, chat.ErrInvalidToken
	case err != nil:
		return chat.TokenPair{}, refreshError, fmt.Errorf("auth: refresh: %w", err)
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return chat.TokenPair{}, refreshError, fmt.Errorf("auth: refresh: session %s: %w", sess.ID, err)
	}
	pair, err := s.pair(u, sess, next, now)
	if err != nil {
		return chat.TokenPair{}, refreshError, fmt.Errorf("auth: refresh: %w", err)
	}
	return pair, refreshSuccess, nil
}

// Logout revokes the session of refreshToken, which may be its current
// token or a spent one; revoking a revoked session succeeds again. An
// unknown or expired token is invalid_token.
func (s *Service) Logout(ctx context.Context, refreshToken string) error {
	if refreshToken == "" || len(refreshToken) > maxRefreshTokenLen {
		return chat.ErrInvalidToken
	}
	sess, err := s.store.RevokeByRefresh(ctx, HashRefreshToken(refreshToken), s.now())
	if err != nil {
		if chat.ErrorCode(err) == chat.CodeInvalidToken {
			return chat.ErrInvalidToken
		}
		return fmt.Errorf("auth: logout: %w", err)
	}
	s.revoked(sess.ID)
	return nil
}

// revoked evicts a session this Service just revoked and reports it.
func (s *Service) revoked(sessionID string) {
	s.Forget(sessionID)
	if s.onRevoke != nil {
		s.onRevoke(sessionID)
	}
}
