package httpapi

import (
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/chatsvc/chat/internal/chat"
)

// routes installs every route of the service. This is the one place to see
// the whole HTTP surface.
//
// Middleware is attached to each route rather than to a group: Echo gives a
// group with middleware a catch-all route, which would answer every unknown
// path below it through that middleware (a 401 from the auth check instead
// of Echo's own 404 or 405).
func (s *server) routes(e *echo.Echo) {
	e.GET("/healthz", s.handleHealth())
	e.GET("/readyz", s.handleReady())
	if s.opt.ServeMetrics && s.m != nil {
		e.GET("/metrics", echo.WrapHandler(s.m.Handler()))
	}
	if s.opt.WS != nil {
		e.GET("/ws", echo.WrapHandler(s.opt.WS))
	}

	// The limit is given in bytes: Echo reads "64K" as 64 000.
	rest := []echo.MiddlewareFunc{middleware.BodyLimit(strconv.Itoa(MaxBodyBytes)), noStore}
	authed := append(slices.Clone(rest), requireAuth(s.opt.Auth))

	api := e.Group("/api/v1")
	api.GET("/openapi.json", s.handleOpenAPI())
	api.POST("/auth/register", s.handleRegister(), rest...)
	api.POST("/auth/login", s.handleLogin(), rest...)
	api.POST("/auth/refresh", s.handleRefresh(), rest...)
	api.POST("/auth/logout", s.handleLogout(), rest...)
	api.GET("/me", s.handleMe(), authed...)
	api.GET("/rooms", s.handleRooms(), authed...)
	api.GET("/rooms/:room/messages", s.handleMessages(), authed...)
	api.GET("/search", s.handleSearch(), authed...)
	api.POST("/rooms", s.handleCreateRoom(), authed...)
	api.GET("/rooms/:room", s.handleGetRoom(), authed...)
	api.PATCH("/rooms/:room", s.handlePatchRoom(), authed...)
	api.DELETE("/rooms/:room", s.handleDeleteRoom(), authed...)
	api.GET("/rooms/:room/members", s.handleMembers(), authed...)
	// One route per moderation action, so that an unknown action, or a GET
	// of one, is Echo's own 404.
	for _, name := range slices.Sorted(maps.Keys(chat.ModerationActions)) {
		api.POST("/rooms/:room/"+name, s.handleModerate(chat.ModerationActions[name]), authed...)
	}
	api.POST("/dms", s.handleDM(), authed...)
	api.GET("/users/:username", s.handleUser(), authed...)
	api.GET("/me/rooms", s.handleMyRooms(), authed...)
	api.POST("/admin/users/:username/suspend", s.handleSuspend(true), authed...)
	api.POST("/admin/users/:username/unsuspend", s.handleSuspend(false), authed...)

	if s.opt.Web != nil {
		s.webRoutes(e, s.opt.Web)
	}
}

// webRoutes serves each file of the web client at its own path, and each
// index.html at its directory too. There is no catch-all route, so an
// unknown path gets Echo's JSON 404 and an API path with the wrong method
// its 405.
func (s *server) webRoutes(e *echo.Echo, files fs.FS) {
	h := echo.WrapHandler(http.FileServerFS(files))
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		e.GET("/"+p, h, webHeaders)
		if path.Base(p) == "index.html" {
			e.GET("/"+strings.TrimSuffix(p, "index.html"), h, webHeaders)
		}
		return nil
	})
	if err != nil {
		s.log.Error("list web client files", "err", err)
	}
}

// noStore keeps API answers, tokens included, out of caches.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}
