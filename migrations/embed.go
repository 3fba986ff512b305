// Package migrations holds the SQL schema of the chat service, one directory
// per dialect, embedded so the binary carries it. The store applies them with
// goose at start.
package migrations

import "embed"

// SQLite holds the SQLite migrations under the directory "sqlite".
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Postgres holds the PostgreSQL migrations under the directory "postgres".
//
//go:embed postgres/*.sql
var Postgres embed.FS
