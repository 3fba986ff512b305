package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chatsvc/chat/internal/auth"
	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/config"
	"github.com/chatsvc/chat/internal/httpapi"
	"github.com/chatsvc/chat/internal/hub"
	"github.com/chatsvc/chat/internal/metrics"
	"github.com/chatsvc/chat/internal/store"
	"github.com/chatsvc/chat/internal/ws"
	"github.com/chatsvc/chat/web"
)

// Server timeouts. Echo leaves them at zero; a public server must not.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	// pruneInterval is how often expired sessions and refresh tokens go.
	pruneInterval = 10 * time.Minute
	// readyTimeout bounds each readiness check.
	readyTimeout = 2 * time.Second
)

// run starts the service and blocks until ctx ends or SIGINT/SIGTERM
// arrives, then shuts down in order. environ is the environment as
// os.Environ gives it (KEY=VALUE entries; a later entry wins). It writes
// one line "listening on ADDR" to stdout once the listener is open; logs go
// to stderr.
func run(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	probeURL := fs.String("probe", "", "request this URL, exit 0 when it answers 200 and 1 otherwise, and do nothing else (a container healthcheck)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	getenv := lookup(environ)
	if *probeURL != "" {
		return probe(ctx, *probeURL, stdout)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	pprofAt, err := pprofAddr(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg, stderr)
	warnUnknown(log, environ)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	m := metrics.New()
	db, err := store.Open(ctx, cfg.DBURL, store.Options{Logger: log, Metrics: m})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()

	secret, err := jwtSecret(cfg, log)
	if err != nil {
		return err
	}
	tokens, err := auth.NewTokens(auth.TokenOptions{
		Secret:         secret,
		PreviousSecret: []byte(cfg.JWTPreviousSecret),
		PreviousUntil:  cfg.JWTPreviousUntil,
		Issuer:         cfg.JWTIssuer,
		Leeway:         cfg.JWTLeeway,
		AccessTTL:      cfg.AccessTTL,
	})
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if tokens.Ephemeral() {
		log.Warn("CHAT_JWT_SECRET is empty and the database is not SQLite: using a random key, tokens end with this process")
	}

	external, err := newExternal(cfg, db, log)
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}

	node := newNodeID()
	nb, err := newNodeBroker(ctx, cfg, node, log, m)
	if err != nil {
		return err
	}
	defer nb.close()
	var h *hub.Hub
	// roomCreate counts the rooms each user makes (CHAT_ROOM_CREATE_RATE):
	// over REST here, and by joins of unknown names once the hub takes it.
	roomCreate := nb.throttle("room-create", cfg.RoomCreateRate)
	authSvc := auth.NewService(auth.ServiceOptions{
		Store:                  db,
		Tokens:                 tokens,
		Hasher:                 auth.NewHasher(0),
		RefreshTTL:             cfg.RefreshTTL,
		AllowRegistration:      cfg.AllowRegistration,
		LoginThrottle:          nb.throttle("login", cfg.LoginRate),
		LoginIPThrottle:        nb.throttle("login-ip", cfg.LoginIPRate),
		RegisterThrottle:       nb.throttle("register", cfg.RegisterRate),
		LoginUserThrottle:      nb.throttle("login-user", cfg.LoginUserRate),
		RefreshThrottle:        nb.throttle("refresh", cfg.RefreshRate),
		RefreshSessionThrottle: nb.throttle("refresh-session", cfg.RefreshSessRate),
		RefreshGrace:           cfg.RefreshGrace,
		OnRevoke: func(sessionID string) {
			h.RevokeSession(context.Background(), sessionID)
		},
		External: external,
		Metrics:  m,
		Logger:   log,
	})
	h = hub.New(hub.Options{
		Auth:               authSvc,
		Store:              db,
		Broker:             nb.broker,
		Conns:              nb.conns,
		Metrics:            m,
		Logger:             log,
		Node:               node,
		PingInterval:       cfg.WSPingInterval,
		PongTimeout:        cfg.WSPongTimeout,
		SendQueue:          cfg.WSSendQueue,
		ReplayLimit:        cfg.WSReplayLimit,
		MaxConnsPerUser:    cfg.WSMaxConnsPerUser,
		MaxRoomsPerConn:    cfg.WSMaxRoomsPerConn,
		PresenceMaxMembers: cfg.PresenceMaxMembers,
		ReceiptsMaxMembers: cfg.ReceiptsMaxMembers,
		ServerAdmin:        func(name string) bool { return slices.Contains(cfg.Admins, name) },
		RoomCreate:         roomCreate,
		MaxTextChars:       cfg.MaxTextChars,
		RateMsgs:           cfg.RateMsgs,
		RateBurst:          cfg.RateBurst,
		Leeway:             cfg.JWTLeeway,
	})
	wsHandler := ws.Handler(h, ws.Options{
		AllowedOrigins: cfg.AllowedOrigins,
		Compression:    cfg.WSCompression,
		MaxFrameBytes:  cfg.WSMaxFrameBytes,
		WriteDelay:     cfg.WSWriteDelay,
		ReadMode:       cfg.WSReadMode,
	})
	nb.start(func(ev chat.Event) {
		if ev.Kind == chat.EventRevoke {
			// A session revoked on another node must not outlive this
			// node's short session cache either.
			authSvc.Forget(ev.SessionID)
		}
		h.HandleEvent(ev)
	})

	var draining atomic.Bool
	ready := func(ctx context.Context) []string {
		var failed []string
		if draining.Load() {
			failed = append(failed, "shutdown")
		}
		cctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := db.Ping(cctx); err != nil {
			failed = append(failed, "database")
		}
		if err := nb.ping(cctx); err != nil {
			failed = append(failed, "broker")
		}
		return failed
	}

	e := httpapi.New(httpapi.Options{
		Auth:           authSvc,
		Store:          db,
		Metrics:        m,
		Logger:         log,
		WS:             wsHandler,
		Ready:          ready,
		ServeMetrics:   cfg.MetricsAddr == "",
		Web:            web.FS(),
		TrustedProxies: cfg.TrustedProxies,
		Admins:         cfg.Admins,
		RoomCreate:     roomCreate,
		Notifier:       hubNotifier{hub: h, auth: authSvc},
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := newHTTPServer(e, log)
	servers := []*http.Server{srv}
	serveErr := make(chan error, 3)
	go func() { serveErr <- srv.Serve(ws.Listener(ln)) }()
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("listen on %s: %w", cfg.MetricsAddr, err)
		}
		msrv := newHTTPServer(m.Handler(), log)
		servers = append(servers, msrv)
		go func() { serveErr <- msrv.Serve(mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	// CHAT_PPROF_ADDR is outside the contract and config.Config: a switch
	// for profiling, off by default, never on the public address.
	if pprofAt != "" {
		pln, err := net.Listen("tcp", pprofAt)
		if err != nil {
			for _, s := range servers {
				_ = s.Close()
			}
			return fmt.Errorf("listen on %s: %w", pprofAt, err)
		}
		psrv := newHTTPServer(pprofHandler(), log)
		psrv.WriteTimeout = 0 // a CPU profile streams for as long as asked
		servers = append(servers, psrv)
		go func() { serveErr <- psrv.Serve(pln) }()
		log.Warn("pprof listening", "addr", pln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String(), "node", node, "db", db.Dialect(), "broker", nb.kind)
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())

	var bg sync.WaitGroup
	bgCtx, bgCancel := context.WithCancel(context.Background())
	bg.Add(1)
	go func() { defer bg.Done(); prune(bgCtx, db, log) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	stop()

	// Shutdown order: report unready, let load balancers notice, stop
	// accepting, close every socket with 1001 after its pending send is
	// stored and acknowledged, drain HTTP, then close the store.
	log.Info("shutting down")
	draining.Store(true)
	if cfg.ShutdownDrain > 0 {
		time.Sleep(cfg.ShutdownDrain)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var hubErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		hubErr = h.Shutdown(sctx)
		// Every socket has ended: stop the poller and wait for the last
		// read sides to return.
		if err := wsHandler.Shutdown(sctx); hubErr == nil {
			hubErr = err
		}
	}()
	var httpErr error
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil && httpErr == nil {
			httpErr = err
		}
	}
	wg.Wait()
	bgCancel()
	bg.Wait()
	nb.close()
	if err := db.Close(); err != nil {
		log.Error("close database", "err", err)
	}
	if hubErr != nil || httpErr != nil {
		return fmt.Errorf("shutdown cut short after %s: %w", cfg.ShutdownTimeout, errors.Join(hubErr, httpErr))
	}
	log.Info("stopped")
	return runErr
}

// pprofHandler serves the runtime profiles under /debug/pprof/, for
// CHAT_PPROF_ADDR only: never on the public address.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel()}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func newNodeID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// prune removes expired sessions and refresh tokens now and then.
func prune(ctx context.Context, db *store.DB, log *slog.Logger) {
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	for {
		if n, err := db.PruneExpired(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("prune expired sessions", "err", err)
		} else if n > 0 {
			log.Info("pruned expired sessions", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
