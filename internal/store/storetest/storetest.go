// Package storetest opens real databases for tests, one fresh database per test, on SQLite (a file
// in the test's temp dir) and on PostgreSQL (a throwaway cluster from pgtest), so that every suite
// can run the same assertions against both.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tally-loyalty/tally/internal/pgtest"
	"github.com/tally-loyalty/tally/internal/store"
)

// Dialects are the databases every store-backed suite runs on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// DSN returns the address of a fresh, empty database of the dialect for this test.
func DSN(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.Postgres {
		return pgtest.DSN(t)
	}
	return filepath.Join(t.TempDir(), "tally.db")
}

// Open returns a fresh, migrated database of the dialect, closed when the test ends.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), DSN(t, d))
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Each runs fn as a subtest named after each dialect.
func Each(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d.String(), func(t *testing.T) { fn(t, d) })
	}
}
