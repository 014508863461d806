package batch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// waitItem is an item of the yield test type.
type waitItem struct {
	CustomerID string `json:"customerId"`
	Wait       bool   `json:"wait"`
}

// TestChunkYieldsToWaitingWrites proves that a chunk on SQLite ends early for a write that waits
// for the single writer (worker.go: applyChunk, minChunkTime), and that the next chunk goes on from
// there: the item marked "wait" starts a write, sees it waiting, and works minChunkTime. On
// PostgreSQL writes do not wait for each other's transactions, and the chunk runs whole.
func TestChunkYieldsToWaitingWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := setup(t, d).newTenant(t)
		const n, waitAt = 20, 5
		written := make(chan error, 1)
		f.s.types["yield"] = Of("yield", "Yield Test Batch Job", "ensured", func(ctx context.Context, tx *store.Tx, tenantID int64,
			req *waitItem) (int64, error) {
			if req.Wait {
				go func() { written <- f.db.Write(ctx, func(*store.Tx) error { return nil }) }()
				for deadline := time.Now().Add(5 * time.Second); d == store.SQLite && !tx.WritersWaiting(); {
					if time.Now().After(deadline) {
						return 0, fmt.Errorf("the write never waited for the writer")
					}
					time.Sleep(time.Millisecond)
				}
				time.Sleep(minChunkTime)
			}
			return tx.EnsureCustomer(ctx, tenantID, req.CustomerID, now)
		})
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"customerId":"c%d","wait":%v}`, i, i == waitAt)
		}
		c, err := f.s.Submit(ctx, f.tenant, "yield", []byte(`{"body":[`+strings.Join(items, ",")+`]}`), "")
		if err != nil {
			t.Fatal(err)
		}

		done, err := f.s.runChunk(ctx, c.JobID)
		if err != nil {
			t.Fatal(err)
		}
		want := n
		if d == store.SQLite {
			want = waitAt + 1
		}
		if j := f.job(t, c.JobID); j.ProcessedCount != want || done != (want == n) {
			t.Fatalf("the first chunk processed %d items (done %v); want %d", j.ProcessedCount, done, want)
		}
		if err := <-written; err != nil {
			t.Fatal(err)
		}
		f.run(t, c.JobID)
		j := f.job(t, c.JobID)
		if j.Status != store.BatchCompleted || j.FinishedCount != n {
			t.Fatalf("job %+v; want completed with %d items succeeded", j, n)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM customers WHERE tenant_id = ?`, f.tenant); got != n {
			t.Errorf("%d customers; want %d", got, n)
		}
	})
}
