// Package storetest gives tests a fresh, empty chat database on SQLite or
// PostgreSQL.
//
// PostgreSQL tests run against the server named by CHAT_TEST_POSTGRES_URL
// (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable), each in a
// schema of its own that is dropped when the test ends; they are skipped
// when the variable is unset.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/chatsvc/chat/internal/store"
)

// PostgresEnv is the environment variable naming the PostgreSQL server of
// the tests.
const PostgresEnv = "CHAT_TEST_POSTGRES_URL"

// Dialects returns the dialects a test runs on, for a loop of t.Run.
func Dialects() []string { return []string{store.DialectSQLite, store.DialectPostgres} }

// URL returns the URL of a fresh, empty database of the dialect ("sqlite" or
// "postgres"): a file in t.TempDir(), or a new PostgreSQL schema that is
// dropped at the end of the test. It skips the test when dialect is
// "postgres" and CHAT_TEST_POSTGRES_URL is unset.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case store.DialectSQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "chat.db")
	case store.DialectPostgres:
		return postgresURL(t)
	}
	t.Fatalf("storetest: unknown dialect %q (want sqlite or postgres)", dialect)
	return ""
}

// Open opens a store on a fresh database of the dialect (see URL) and closes
// it at the end of the test.
func Open(t testing.TB, dialect string) *store.DB {
	t.Helper()
	return OpenURL(t, dialect, URL(t, dialect))
}

// OpenURL opens a store on the database at u (a URL from URL) and closes
// it at the end of the test.
func OpenURL(t testing.TB, dialect, u string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, u, store.Options{})
	if err != nil {
		t.Fatalf("storetest: open %s store: %v", dialect, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("storetest: close %s store: %v", dialect, err)
		}
	})
	return db
}

func postgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " not set: skipping PostgreSQL tests")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: parse %s: %v", PostgresEnv, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: open PostgreSQL: %v", err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("storetest: create schema: %v", err)
	}
	admin.Close()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("storetest: open PostgreSQL: %v", err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
