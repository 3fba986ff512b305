// Package httpapi is the HTTP face of the chat service: the Echo server,
// its routes, the REST handlers, JSON errors, the access log, HTTP metrics
// and the embedded web page. The WebSocket hub is mounted as a handler.
package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// MaxBodyBytes is the largest REST request body accepted.
const MaxBodyBytes = 64 << 10

// Auth is what the REST handlers need from the auth service.
type Auth interface {
	Register(ctx context.Context, username, password, clientIP string) (chat.User, error)
	Login(ctx context.Context, username, password, clientIP string) (chat.TokenPair, chat.User, error)
	Authenticate(ctx context.Context, accessToken string) (auth.Claims, error)
	RefreshFrom(ctx context.Context, refreshToken, clientIP string) (chat.TokenPair, error)
	LogoutFrom(ctx context.Context, refreshToken, clientIP string) error
}

// Store is what the REST handlers read and write. Errors are chat error
// kinds where the contract has one (chat.ErrNotFound for a missing row).
type Store interface {
	UserByID(ctx context.Context, id string) (chat.User, error)
	UserByName(ctx context.Context, username string) (chat.User, string, error)
	// Room returns a room, a deleted one too (DeletedAt set).
	Room(ctx context.Context, name string) (chat.Room, error)
	// RoomsFor lists the rooms visible to a user, by name.
	RoomsFor(ctx context.Context, userID string, serverAdmin bool, after string, limit int) ([]chat.Room, bool, error)
	History(ctx context.Context, room string, before int64, limit int) ([]chat.Message, bool, error)
	Search(ctx context.Context, s chat.Search) (chat.SearchPage, error)
	// Membership returns a user's membership, the zero Member when none.
	Membership(ctx context.Context, room, userID string) (chat.Member, error)
	Members(ctx context.Context, room, after string, limit int, withBanned bool) ([]chat.Member, bool, error)
	CreateRoom(ctx context.Context, name, kind, topic string, owner chat.User) (chat.Room, error)
	DeleteRoom(ctx context.Context, name string) ([]string, error)
	DirectRoom(ctx context.Context, a, b chat.User) (chat.Room, error)
	HideDirect(ctx context.Context, room, userID string) error
	MyRooms(ctx context.Context, userID string) ([]chat.MyRoom, error)
	// Append stores a stream event; a member change that changes nothing
	// stores nothing and returns Seq 0.
	Append(ctx context.Context, m chat.NewMessage) (chat.Message, bool, error)
	// SetSuspended suspends or reinstates a user and returns the ids of
	// the sessions a suspension revoked.
	SetSuspended(ctx context.Context, userID string, suspended bool) ([]string, error)
}

// Options configure the server.
type Options struct {
	Auth    Auth
	Store   Store
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// WS serves /ws; nil leaves it unrouted.
	WS http.Handler
	// Ready returns the names of the failed readiness checks ("database",
	// "broker", "shutdown"); none means ready.
	Ready func(ctx context.Context) []string
	// ServeMetrics mounts /metrics on this server.
	ServeMetrics bool
	// Web is the static web client served at /; nil serves nothing there.
	Web            fs.FS
	TrustedProxies []netip.Prefix
	// Admins are the usernames of the server admins (CHAT_ADMINS).
	Admins []string
	// RoomCreate limits the rooms each user creates, keyed by user id; the
	// handler asks Blocked before a creation and records a Hit after one,
	// so refused attempts do not count. Nil is no limit.
	RoomCreate auth.Throttle
	// Notifier tells the real-time side about stored events and
	// membership changes; nil tells nobody.
	Notifier Notifier
	// Now is the clock of mutes and authorization; time.Now when nil.
	Now func() time.Time
}

// server holds what the handlers close over.
type server struct {
	opt    Options
	log    *slog.Logger
	m      *metrics.Metrics
	admins map[string]bool
	notify Notifier
	now    func() time.Time
}

// New returns the Echo instance with every route and middleware installed.
func New(opt Options) *echo.Echo {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{opt: opt, log: opt.Logger, m: opt.Metrics, admins: make(map[string]bool), notify: opt.Notifier, now: opt.Now}
	for _, a := range opt.Admins {
		s.admins[a] = true
	}
	if s.notify == nil {
		s.notify = nopNotifier{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.errorHandler
	trusted := opt.TrustedProxies
	e.IPExtractor = func(r *http.Request) string { return auth.ClientIP(r, trusted) }
	e.Use(requestIDs, noSniff)
	e.Use(s.observe)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll:   true,
		DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic in handler", "request_id", requestID(c), "err", err, "stack", string(stack))
			return err
		},
	}))
	s.routes(e)
	return e
}

// observe logs each request once and records its metrics under the route
// template. Query strings, tokens and bodies are never logged.
func (s *server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		req := c.Request()
		status := c.Response().Status
		d := time.Since(start)
		method := methodLabel(req.Method)
		if s.m != nil {
			s.m.HTTPRequests.WithLabelValues(method, route, statusText(status)).Inc()
			s.m.HTTPDuration.WithLabelValues(method, route).Observe(d.Seconds())
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		attrs := []any{
			"request_id", requestID(c),
			"method", method,
			"route", route,
			"path", req.URL.Path,
			"status", status,
			"duration_ms", float64(d.Microseconds()) / 1000,
			"ip", c.RealIP(),
		}
		if claims, ok := claimsFrom(c); ok {
			attrs = append(attrs, "user_id", claims.UserID)
		}
		s.log.Log(req.Context(), level, "http request", attrs...)
		return nil
	}
}
