package httpapi

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// routes installs every route of the service. This is the one place to see
// the whole HTTP surface.
func (s *server) routes(e *echo.Echo) {
	e.GET("/healthz", s.handleHealth())
	e.GET("/readyz", s.handleReady())
	if s.opt.ServeMetrics && s.m != nil {
		e.GET("/metrics", echo.WrapHandler(s.m.Handler()))
	}
	if s.opt.WS != nil {
		e.GET("/ws", echo.WrapHandler(s.opt.WS))
	}

	api := e.Group("/api/v1", middleware.BodyLimit("64K"), noStore)
	api.POST("/auth/register", s.handleRegister())
	api.POST("/auth/login", s.handleLogin())
	api.POST("/auth/refresh", s.handleRefresh())
	api.POST("/auth/logout", s.handleLogout())

	authed := api.Group("", s.opt.Auth.Middleware())
	authed.GET("/me", s.handleMe())
	authed.GET("/rooms", s.handleRooms())
	authed.GET("/rooms/:room/messages", s.handleMessages())

	if s.opt.Web != nil {
		e.GET("/*", s.handleWeb())
	}
}

// handleWeb serves the embedded web client; a path it does not hold is the
// usual JSON 404.
func (s *server) handleWeb() echo.HandlerFunc {
	static := http.FileServerFS(s.opt.Web)
	return func(c echo.Context) error {
		name := strings.TrimPrefix(path.Clean("/"+c.Param("*")), "/")
		if name == "" {
			name = "index.html"
		}
		if st, err := fs.Stat(s.opt.Web, name); err != nil || st.IsDir() {
			return echo.ErrNotFound
		}
		static.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// noStore keeps API answers, tokens included, out of caches.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}
