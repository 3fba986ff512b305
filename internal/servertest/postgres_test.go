package servertest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// TestPostgresRestart checks that the test's own PostgreSQL serves, goes
// away on Stop and comes back on Start with its data.
func TestPostgresRestart(t *testing.T) {
	pg := StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("the server answered while stopped")
	}
	pg.Start()
	var v string
	if err := db.QueryRowContext(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != "still here" {
		t.Fatalf("after the restart: %q, %v", v, err)
	}
}
