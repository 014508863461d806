package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/store"
)

// dumpDatabase returns every row of the tenants and customers tables as text.
func dumpDatabase(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	err := db.Read(context.Background(), func(tx *store.Tx) error {
		for _, table := range []string{"tenants", "customers"} {
			rows, err := tx.Query(context.Background(), "SELECT * FROM "+table)
			if err != nil {
				return err
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return err
				}
				fmt.Fprintf(&b, "%s: %v\n", table, vals)
			}
			rows.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "tenants:") {
		t.Fatal("the dump holds no tenant row")
	}
	return b.String()
}
