// Package store keeps users, sessions, rooms and messages in SQL, on SQLite
// (modernc.org/sqlite) or PostgreSQL (pgx), chosen by the database URL. It
// applies the embedded migrations at Open and turns driver errors into the
// error kinds of package chat; other driver errors are wrapped and carry no
// client-visible message.
//
// Message appends go through a group committer: concurrent Append calls are
// written in one transaction, and each returns once its transaction
// committed. Sequence numbers are assigned per room inside that transaction,
// so they are gapless and unique also when several processes share one
// PostgreSQL database.
//
// A *DB is safe for concurrent use.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/chatsvc/chat/internal/chat"
	"github.com/chatsvc/chat/internal/metrics"
)

// Dialect names returned by DB.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DefaultBatchMax is the number of messages a group-commit transaction holds
// at most when Options.BatchMax is zero.
const DefaultBatchMax = 256

const (
	// sqliteBusyTimeoutMS is how long a SQLite connection waits for a lock
	// held by another connection before it fails with SQLITE_BUSY.
	sqliteBusyTimeoutMS = 5000
	// pgMaxConns bounds the PostgreSQL pool of one process.
	pgMaxConns = 16
	// maxReadLimit bounds the rows one read returns, whatever the caller asks.
	maxReadLimit = 10000
	// refWindow is how long a (user, ref) pair makes a send idempotent.
	refWindow = 24 * time.Hour
)

// ErrClosed is returned by Append after Close was called.
var ErrClosed = errors.New("store: closed")

// ErrReused is returned by RotateRefresh for a refresh token that was
// already spent. The token's session has been revoked; the caller closes the
// session's sockets.
var ErrReused = &chat.Error{Code: chat.CodeInvalidToken, Message: "refresh token was already used"}

// Options configures Open. The zero value works.
type Options struct {
	Logger   *slog.Logger     // nil = discard
	Metrics  *metrics.Metrics // nil allowed: then no metrics are recorded
	BatchMax int              // max messages per group-commit transaction; 0 = 256
}

// DB is the storage of the chat service.
type DB struct {
	dialect string
	w       *sql.DB // writes; a single connection on SQLite
	r       *sql.DB // reads; the same pool as w on PostgreSQL
	log     *slog.Logger
	metrics *metrics.Metrics
	app     appender
	q       queries
	now     func() time.Time // the wall clock of appends

	batchMax int
	queue    chan *appendReq
	// mu guards closed and the send side of queue: Append holds it shared
	// while it enqueues, Close exclusively while it closes the queue.
	mu            sync.RWMutex
	closed        bool
	committerDone chan struct{}
}

// queries holds the SQL that differs between the dialects.
type queries struct {
	// tokenForUpdate selects a refresh token with its session and locks both
	// rows until the end of the transaction.
	tokenForUpdate string
	// deleted is the condition "message m is deleted", written as the
	// partial index messages_room_deleted is, so that it is used.
	deleted string
}

// Open connects to the database at url, applies the migrations, makes sure
// the room "general" exists and starts the group committer. url is
// "sqlite:PATH" or "postgres://…" ("postgresql://…").
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	dialect, target, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &DB{
		dialect:       dialect,
		log:           log,
		metrics:       opts.Metrics,
		batchMax:      opts.BatchMax,
		now:           time.Now,
		committerDone: make(chan struct{}),
	}
	if db.batchMax <= 0 {
		db.batchMax = DefaultBatchMax
	}
	if err := db.connect(ctx, target); err != nil {
		db.closePools()
		return nil, err
	}
	if _, err := db.EnsureRoom(ctx, chat.DefaultRoom); err != nil {
		db.closePools()
		return nil, fmt.Errorf("store: seed room %s: %w", chat.DefaultRoom, err)
	}
	db.queue = make(chan *appendReq, db.batchMax)
	go db.runCommitter(db.queue)
	log.Info("store opened", "dialect", dialect)
	return db, nil
}

// parseURL splits a database URL into its dialect and the driver's data
// source.
func parseURL(url string) (dialect, target string, err error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		// sqlite://chat.db and sqlite:///abs/chat.db name the same files as
		// sqlite:chat.db and sqlite:/abs/chat.db.
		path = strings.TrimPrefix(path, "//")
		switch {
		case path == "":
			return "", "", errors.New("store: database URL sqlite: needs a file path, e.g. sqlite:chat.db")
		case strings.ContainsAny(path, "?#"):
			return "", "", errors.New("store: SQLite path must not contain '?' or '#'")
		case path == ":memory:" || strings.HasPrefix(path, "file:"):
			return "", "", errors.New("store: SQLite needs a plain file path, e.g. sqlite:chat.db")
		}
		return DialectSQLite, path, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return DialectPostgres, url, nil
	}
	return "", "", errors.New("store: unsupported database URL: want sqlite:PATH, postgres://… or postgresql://…")
}

// connect opens the pools, migrates and prepares the dialect's appender.
func (db *DB) connect(ctx context.Context, target string) error {
	var err error
	switch db.dialect {
	case DialectSQLite:
		common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", sqliteBusyTimeoutMS)
		// Every write goes through one connection: SQLite has a single
		// writer anyway, and BEGIN IMMEDIATE takes the write lock up front so
		// a transaction never fails to upgrade its lock half-way.
		// synchronous=FULL syncs the WAL at every commit, so an acknowledged
		// append survives a crash of the machine; temp_store=memory keeps
		// statement journals off the disk.
		// The DSN is a plain path, not a file: URI, so that no character of
		// the path is URI-decoded; the driver applies the _pragma
		// parameters to every connection it opens.
		if err := createPrivate(target); err != nil {
			return err
		}
		db.w, err = sql.Open("sqlite", target+"?"+common+
			"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(memory)&_txlock=immediate")
		if err != nil {
			return fmt.Errorf("store: open sqlite: %w", err)
		}
		db.w.SetMaxOpenConns(1)
		db.w.SetMaxIdleConns(1)
		db.w.SetConnMaxLifetime(0)
		db.w.SetConnMaxIdleTime(0)
		if err := db.w.PingContext(ctx); err != nil {
			return fmt.Errorf("store: connect sqlite: %w", err)
		}
		if err := migrate(ctx, db.w, db.dialect, db.log); err != nil {
			return err
		}
		// Readers use their own pool so they never queue behind the writer.
		db.r, err = sql.Open("sqlite", target+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			return fmt.Errorf("store: open sqlite: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		db.r.SetMaxOpenConns(n)
		db.r.SetMaxIdleConns(n)
		db.q = queries{tokenForUpdate: tokenQuery, deleted: "m.deleted = 1"}
		app, err := newSQLiteAppender(ctx, db.w)
		if err != nil {
			return err
		}
		db.app = app
		return nil
	case DialectPostgres:
		db.w, err = sql.Open("pgx", target)
		if err != nil {
			return fmt.Errorf("store: open postgres: %w", err)
		}
		db.w.SetMaxOpenConns(pgMaxConns)
		db.w.SetMaxIdleConns(pgMaxConns)
		db.w.SetConnMaxIdleTime(5 * time.Minute)
		db.r = db.w
		if err := db.w.PingContext(ctx); err != nil {
			return fmt.Errorf("store: connect postgres: %w", err)
		}
		if err := migrate(ctx, db.w, db.dialect, db.log); err != nil {
			return err
		}
		db.q = queries{tokenForUpdate: tokenQuery + " FOR UPDATE", deleted: "m.deleted"}
		db.app = pgAppender{}
		return nil
	}
	return fmt.Errorf("store: unknown dialect %q", db.dialect)
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if db.w != db.r {
		if err := db.w.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w", err)
		}
	}
	return nil
}

// Close stops accepting appends, waits until the group committer has
// written every append already queued, and closes the pools. Calls after
// the first return nil.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.queue)
	db.mu.Unlock()
	<-db.committerDone
	return db.closePools()
}

func (db *DB) closePools() error {
	var errs []error
	if db.app != nil {
		errs = append(errs, db.app.close())
	}
	if db.r != nil && db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// arg converts t to the column value of the dialect, truncated to the
// millisecond: unix milliseconds on SQLite, a UTC time on PostgreSQL.
func (db *DB) arg(t time.Time) any {
	if db.dialect == DialectSQLite {
		return t.UnixMilli()
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// msTime scans a time column of either dialect into a UTC time; NULL scans
// as the zero time.
type msTime struct{ t *time.Time }

// Scan implements sql.Scanner.
func (m msTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		*m.t = time.UnixMilli(v).UTC()
	case time.Time:
		*m.t = v.UTC()
	default:
		return fmt.Errorf("store: scan time: unexpected %T", src)
	}
	return nil
}

// truncMS returns t in UTC truncated to the millisecond, as it reads back.
func truncMS(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// rollback ends tx when it was not committed; its error is of no interest
// then, since the transaction's outcome is already decided.
func rollback(tx *sql.Tx) { _ = tx.Rollback() }
