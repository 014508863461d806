package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/store"
)

// The helpers here read the whole database, so that tests can say "this request changed nothing"
// or "this request changed nothing of tenant A's" about every table, including tables added later.

// dbRow is one row: column name to value as text.
type dbRow map[string]string

func (r dbRow) String() string {
	cols := slices.Sorted(maps.Keys(r))
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c + "=" + r[c]
	}
	return strings.Join(parts, " ")
}

// readTables returns every row of every table by table name, except the job queue's own tables,
// whose bookkeeping (leader election, job attempts) moves on its own.
func readTables(t testing.TB, db *store.DB) map[string][]dbRow {
	t.Helper()
	ctx := context.Background()
	tables := map[string][]dbRow{}
	err := db.Read(ctx, func(tx *store.Tx) error {
		q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
		if tx.Dialect() == store.Postgres {
			q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
		}
		names, err := queryStrings(ctx, tx, q)
		if err != nil {
			return err
		}
		for _, name := range names {
			if strings.HasPrefix(name, "river_") {
				continue
			}
			if tables[name], err = queryRows(ctx, tx, "SELECT * FROM "+name); err != nil {
				return fmt.Errorf("read table %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables["tenants"]) == 0 {
		t.Fatal("the database holds no tenant: the dump reads the wrong database")
	}
	return tables
}

func queryStrings(ctx context.Context, tx *store.Tx, q string) ([]string, error) {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func queryRows(ctx context.Context, tx *store.Tx, q string) ([]dbRow, error) {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []dbRow
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := dbRow{}
		for i, c := range cols {
			if b, ok := vals[i].([]byte); ok {
				r[c] = string(b)
			} else {
				r[c] = fmt.Sprint(vals[i])
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// dumpState returns the whole database as sorted text, one line a row.
func dumpState(t testing.TB, db *store.DB) string {
	t.Helper()
	return render(readTables(t, db), func(string, dbRow) bool { return true })
}

// tenantState returns, as sorted text, every row that belongs to the tenant: rows with its
// tenant_id, and rows that hang off those by customer_ref, job_id or event_ref. It fails the test
// on a table whose rows it cannot attribute, so that a new table is either attributed here or
// named as holding no tenant's data.
func tenantState(t testing.TB, db *store.DB, tenantID int64) string {
	t.Helper()
	tables := readTables(t, db)
	tenant := fmt.Sprint(tenantID)
	refs := map[string]string{"customer_ref": "customers", "job_id": "batch_jobs", "event_ref": "events"}
	owners := map[string]map[string]string{} // table -> id -> tenant id
	for table, rows := range tables {
		owners[table] = map[string]string{}
		for _, r := range rows {
			if id, ok := r["id"]; ok {
				owners[table][id] = r["tenant_id"]
			}
		}
	}
	ownerOf := func(table string, r dbRow) (string, bool) {
		if table == "tenants" {
			return r["id"], true
		}
		if tid, ok := r["tenant_id"]; ok {
			return tid, true
		}
		for col, parent := range refs {
			if ref, ok := r[col]; ok {
				return owners[parent][ref], true
			}
		}
		return "", false
	}
	global := []string{"tally_migrations"}
	for table, rows := range tables {
		if len(rows) == 0 || slices.Contains(global, table) {
			continue
		}
		if _, ok := ownerOf(table, rows[0]); !ok {
			t.Fatalf("cannot tell which tenant owns the rows of table %s: teach tenantState its reference column, "+
				"or list it as global if it holds no tenant's data", table)
		}
	}
	return render(tables, func(table string, r dbRow) bool {
		owner, _ := ownerOf(table, r)
		return owner == tenant
	})
}

func render(tables map[string][]dbRow, keep func(table string, r dbRow) bool) string {
	var lines []string
	for table, rows := range tables {
		for _, r := range rows {
			if keep(table, r) {
				lines = append(lines, table+": "+r.String())
			}
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// lineDiff lists the lines only in before (-) and only in after (+).
func lineDiff(before, after string) string {
	was, is := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for _, l := range was {
		if !slices.Contains(is, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range is {
		if !slices.Contains(was, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
