package store

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// Statements a transaction prepared for itself are shared once it has ended; one that does not
// prepare is not; the cache stops at maxSharedStatements; nothing is shared after close.
func TestSharedStatements(t *testing.T) {
	pool, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	var s statements
	s.share(pool, []string{"SELECT 1", "SELECT 2", "SELEC nonsense"})
	s.wg.Wait()
	if s.get("SELECT 1") == nil || s.get("SELECT 2") == nil {
		t.Error("prepared queries were not shared")
	}
	if s.get("SELEC nonsense") != nil || s.get("SELECT 3") != nil {
		t.Error("a query that does not prepare, or was never run, is shared")
	}
	var many []string
	for i := range maxSharedStatements {
		many = append(many, fmt.Sprintf("SELECT %d", 100+i))
	}
	s.share(pool, many)
	s.wg.Wait()
	if n := len(s.byQuery); n != maxSharedStatements {
		t.Errorf("%d statements shared, want the cap %d", n, maxSharedStatements)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	s.share(pool, []string{"SELECT 4"})
	s.wg.Wait()
	if s.get("SELECT 4") != nil {
		t.Error("a statement was shared after close")
	}
}
