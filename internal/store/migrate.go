package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/chatsvc/chat/migrations"
)

// migrate applies the dialect's pending migrations. On PostgreSQL a session
// advisory lock, keyed by the current schema, keeps processes that start
// together from migrating the same schema at once.
func migrate(ctx context.Context, db *sql.DB, dialect string, log *slog.Logger) error {
	var (
		gd   goose.Dialect
		fsys fs.FS
		err  error
		opts = []goose.ProviderOption{
			goose.WithDisableGlobalRegistry(true),
			goose.WithSlog(log),
		}
	)
	switch dialect {
	case DialectSQLite:
		gd = goose.DialectSQLite3
		fsys, err = fs.Sub(migrations.SQLite, "sqlite")
	case DialectPostgres:
		gd = goose.DialectPostgres
		fsys, err = fs.Sub(migrations.Postgres, "postgres")
		if err != nil {
			break
		}
		var schema string
		if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return fmt.Errorf("store: migrate: current schema: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("chat migrations " + schema))
		var locker lock.SessionLocker
		locker, err = lock.NewPostgresSessionLocker(
			lock.WithLockID(int64(h.Sum64())),
			lock.WithLockTimeout(1, 300),
		)
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	p, err := goose.NewProvider(gd, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range res {
		log.Info("migration applied", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
	}
	return nil
}
