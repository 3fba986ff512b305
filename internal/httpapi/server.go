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
	RefreshFrom(ctx context.Context, refreshToken, clientIP string) (chat.TokenPair, error)
	LogoutFrom(ctx context.Context, refreshToken, clientIP string) error
	Middleware() echo.MiddlewareFunc
}

// Store is what the REST handlers read.
type Store interface {
	UserByID(ctx context.Context, id string) (chat.User, error)
	Room(ctx context.Context, name string) (chat.Room, error)
	Rooms(ctx context.Context, after string, limit int) ([]chat.Room, bool, error)
	History(ctx context.Context, room string, before int64, limit int) ([]chat.Message, bool, error)
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
}

// server holds what the handlers close over.
type server struct {
	opt Options
	log *slog.Logger
	m   *metrics.Metrics
}

// New returns the Echo instance with every route and middleware installed.
func New(opt Options) *echo.Echo {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{opt: opt, log: opt.Logger, m: opt.Metrics}
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
		if claims, ok := auth.ClaimsFrom(c); ok {
			attrs = append(attrs, "user_id", claims.UserID)
		}
		s.log.Log(req.Context(), level, "http request", attrs...)
		return nil
	}
}
