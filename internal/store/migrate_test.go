package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// TestBatchRequestsMigration checks what migration 5 makes of batches stored as a row per item: each
// job's items as submitted, in index order, in one row; results only for the processed items.
func TestBatchRequestsMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dsn := storetest.DSN(t, d)
		old, err := store.OpenAt(ctx, dsn, 4)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			idx             int
			status, request string
			result          any
		}
		jobs := []struct {
			status string
			rows   []row // in the order inserted, not the items' order
		}{
			{store.BatchRunning, []row{
				{2, store.ItemPending, `{"customerId":"c"}`, nil},
				{0, store.ItemSucceeded, `{"customerId":"a"}`, `{"index":0}`},
				{3, store.ItemPending, `{"customerId":"line\nbreak"}`, nil},
				{1, store.ItemFailed, `{"customerId":""}`, `{"index":1,"code":3000}`},
			}},
			{store.BatchStopped, []row{
				{0, store.ItemSucceeded, `"order-1"`, `{"index":0}`},
				{1, store.ItemStopped, `"order-2"`, nil},
			}},
		}
		var ids []int64
		err = old.Write(ctx, func(tx *store.Tx) error {
			tenant, _, err := tx.CreateTenant(ctx, "acme", now)
			if err != nil {
				return err
			}
			for _, j := range jobs {
				var id int64
				if err := tx.QueryRow(ctx, `INSERT INTO batch_jobs (tenant_id, type, status, total_count, body_hash, created_at)
					VALUES (?, 'customers', ?, ?, 'h', 0) RETURNING id`, tenant.ID, j.status, len(j.rows)).Scan(&id); err != nil {
					return err
				}
				for _, r := range j.rows {
					if _, err := tx.Exec(ctx, `INSERT INTO batch_items (job_id, idx, status, request, result) VALUES (?, ?, ?, ?, ?)`,
						id, r.idx, r.status, r.request, r.result); err != nil {
						return err
					}
				}
				ids = append(ids, id)
			}
			return nil
		})
		old.Close()
		if err != nil {
			t.Fatal(err)
		}

		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for n, j := range jobs {
			var requests []json.RawMessage
			var results []store.BatchItem
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				if requests, err = tx.BatchRequests(ctx, ids[n]); err != nil {
					return err
				}
				results, err = tx.BatchResults(ctx, ids[n], -1, 10)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			rows := slices.Clone(j.rows)
			slices.SortFunc(rows, func(a, b row) int { return a.idx - b.idx })
			var wantResults []string
			for i, r := range rows {
				if i >= len(requests) || string(requests[i]) != r.request {
					t.Errorf("job %d: items %q; want item %d %s", n, requests, i, r.request)
				}
				if r.result != nil {
					wantResults = append(wantResults, r.status+" "+r.result.(string))
				}
			}
			if len(requests) != len(rows) {
				t.Errorf("job %d: %d items; want %d", n, len(requests), len(rows))
			}
			var got []string
			for _, r := range results {
				got = append(got, r.Status+" "+string(r.Result))
			}
			if !slices.Equal(got, wantResults) {
				t.Errorf("job %d: results %q; want %q", n, got, wantResults)
			}
		}
	})
}

// TestBatchItemsCompressedWithLZ4 checks that on a PostgreSQL server with lz4 a new batch's stored
// items are compressed with lz4, and read back as they were stored.
func TestBatchItemsCompressedWithLZ4(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Postgres)
	err := db.Read(ctx, func(tx *store.Tx) error {
		// The setting accepts lz4 only where the server was built with it.
		_, err := tx.Exec(ctx, `SET LOCAL default_toast_compression = 'lz4'`)
		return err
	})
	if err != nil {
		t.Skipf("this PostgreSQL server has no lz4: %v", err)
	}
	items := make([]json.RawMessage, 1000)
	for i := range items {
		items[i] = json.RawMessage(fmt.Sprintf(`{"customerId":"c%d","orderId":"o%d","totalPaid":45.5}`, i%50, i))
	}
	err = db.Write(ctx, func(tx *store.Tx) error {
		tenant, _, err := tx.CreateTenant(ctx, "lz4", now)
		if err != nil {
			return err
		}
		id, err := tx.InsertBatchJob(ctx, store.BatchJob{TenantID: tenant.ID, Type: "orders", BodyHash: "h",
			CreatedAt: now}, items)
		if err != nil {
			return err
		}
		var method sql.NullString // NULL when stored uncompressed
		if err := tx.QueryRow(ctx, `SELECT pg_column_compression(items) FROM batch_requests WHERE job_id = ?`, id).
			Scan(&method); err != nil {
			return err
		}
		if method.String != "lz4" {
			t.Errorf("stored items compressed with %q (valid %v); want lz4", method.String, method.Valid)
		}
		got, err := tx.BatchRequests(ctx, id)
		if err != nil {
			return err
		}
		if !slices.EqualFunc(got, items, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Errorf("read back %d items, not the %d stored", len(got), len(items))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
