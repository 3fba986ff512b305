package auth

import (
	"context"
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
	//
	// A token spent at most grace ago whose successor is newHash, still
	// current, is a retry: nothing changes, and the session comes back with
	// the time of the first rotation (rotatedAt; now for a fresh one).
	RotateRefresh(ctx context.Context, oldHash, newHash []byte, now time.Time, grace time.Duration) (sess chat.Session, rotatedAt time.Time, err error)
	// LookupRefresh reads a refresh token and its session (revoked or not)
	// without writing: the session and when the token was spent (zero if
	// current); invalid_token for an unknown or expired token.
	LookupRefresh(ctx context.Context, hash []byte, now time.Time) (sess chat.Session, spentAt time.Time, err error)
	// RevokeByRefresh revokes the session of any of its refresh tokens,
	// idempotently; invalid_token for an unknown or expired one.
	RevokeByRefresh(ctx context.Context, hash []byte, now time.Time) (chat.Session, error)
	// Session returns a session by id; chat.ErrNotFound.
	Session(ctx context.Context, id string) (chat.Session, error)
}

// SuspensionStore is an optional Store capability: a Store that has it
// lets Refresh answer account_suspended for a suspended user's refresh
// token (whose session the suspension revoked) instead of invalid_token.
type SuspensionStore interface {
	// SuspendedByRefresh reports whether the user of the session of the
	// refresh token with hash is suspended; false for an unknown token.
	SuspendedByRefresh(ctx context.Context, hash []byte) (bool, error)
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
	// LoginUserThrottle counts login attempts per username from every
	// address, so that spreading guesses over many addresses gains nothing;
	// its window should be short, since whoever guesses can hold a username
	// throttled for as long as the window lasts.
	LoginUserThrottle Throttle
	// RefreshThrottle counts refreshes and logouts per client IP, and
	// RefreshSessionThrottle per session.
	RefreshThrottle, RefreshSessionThrottle Throttle
	// RefreshGrace is how long after a rotation the spent refresh token
	// still gets the same new pair (a retried request, a second tab)
	// instead of ending the session; 0 turns the grace off.
	RefreshGrace time.Duration
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
	loginUserT        Throttle
	registerT         Throttle
	refreshT          Throttle
	refreshSessT      Throttle
	refreshGrace      time.Duration
	rotationKey       []byte // derives a refresh token's successor
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
	rateLimitedLogin, rateLimitedRegister, rateLimitedRefresh   prometheus.Counter
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
		loginUserT:        orOff(o.LoginUserThrottle),
		refreshT:          orOff(o.RefreshThrottle),
		refreshSessT:      orOff(o.RefreshSessionThrottle),
		refreshGrace:      max(o.RefreshGrace, 0),
		rotationKey:       o.Tokens.deriveKey(rotationKeyLabel),
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
			rateLimitedRefresh:  m.RateLimited.WithLabelValues("refresh"),
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
