package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/batch"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// adjustments returns n balance-adjustment items for the customers c0..c<customers-1>, without
// transactionIds: applying one twice would add its points twice, and the ledger would show it.
// It also returns the points each customer should end with.
func adjustments(n, customers, seed int) ([]map[string]any, map[string]int64) {
	items := make([]map[string]any, n)
	want := map[string]int64{}
	for i := range items {
		c := fmt.Sprintf("c%d", (i+seed)%customers)
		points := int64((i+seed)%7 + 1)
		items[i] = map[string]any{"customerId": c, "points": points, "reason": "e2e"}
		want[c] += points
	}
	return items, want
}

// checkLedger asserts that the jobs ended with every item succeeded exactly once: no item is in
// another state, the ledger holds one transaction per item, and the customers' points are the
// items' sums.
func checkLedger(t *testing.T, db *store.DB, tenantID int64, jobIDs []int64, want map[string]int64) {
	t.Helper()
	var items int
	for _, id := range jobIDs {
		var n, done int
		err := db.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT j.total_count, COUNT(CASE WHEN i.status = ? THEN 1 END)
				FROM batch_jobs j LEFT JOIN batch_items i ON i.job_id = j.id WHERE j.id = ? GROUP BY j.total_count`,
				store.ItemSucceeded, id).Scan(&n, &done)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != done {
			t.Fatalf("job %d: %d of %d items succeeded", id, done, n)
		}
		items += n
	}
	var txns int
	got := map[string]int64{}
	err := db.Read(ctx, func(tx *store.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ?`, tenantID).Scan(&txns); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT c.customer_id, SUM(t.points) FROM point_transactions t
			JOIN customers c ON c.id = t.customer_ref WHERE t.tenant_id = ? GROUP BY c.customer_id`, tenantID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			var sum int64
			if err := rows.Scan(&c, &sum); err != nil {
				return err
			}
			got[c] = sum
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if txns != items {
		t.Fatalf("%d ledger transactions for %d items", txns, items)
	}
	for c, w := range want {
		if got[c] != w {
			t.Fatalf("customer %s has %d points in the ledger, want %d", c, got[c], w)
		}
	}
}

// waitAll waits for the jobs to end, within ctx, and requires each to have completed.
func waitAll(t *testing.T, ctx context.Context, c *client.Client, jobIDs []int64) {
	t.Helper()
	for _, id := range jobIDs {
		b, err := c.WaitBatch(ctx, id, 50*time.Millisecond)
		if err != nil {
			t.Fatalf("job %d: %v (last seen %+v)", id, err, b)
		}
		if b.Status != client.BatchCompleted || b.FinishedCount != b.TotalCount {
			t.Fatalf("job %d ended %+v", id, b)
		}
	}
}

// interrupt submits three batches to a server, ends the server with halt as soon as a job is part
// done, starts it again and requires every job to complete within a minute, each item once. A
// crash leaves queue jobs running, for River to rescue; a shutdown hands them back.
func interrupt(t *testing.T, bin string, d store.Dialect, halt func(*server, *testing.T), crashed bool) {
	dsn := storetest.DSN(t, d)
	k := createTenant(t, bin, dsn, "interrupted")
	srv := startServer(t, bin, dsn)
	c := clientOf(srv, k)
	want := map[string]int64{}
	var jobIDs []int64
	for seed := range 3 {
		items, w := adjustments(batch.MaxItems, 100, seed)
		created, err := c.SubmitBatch(ctx, "balance-adjustment", items, "")
		if err != nil {
			t.Fatal(err)
		}
		jobIDs = append(jobIDs, created.JobID)
		for cust, p := range w {
			want[cust] += p
		}
	}
	deadline := time.Now().Add(time.Minute)
	for partDone := false; !partDone; {
		if time.Now().After(deadline) {
			t.Fatalf("no job was seen part done\n%s", srv.logs)
		}
		for _, id := range jobIDs {
			b, err := c.GetBatch(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			partDone = partDone || (b.ProcessedCount > 0 && b.ProcessedCount < b.TotalCount)
		}
	}
	halt(srv, t)
	db := openDB(t, dsn)
	var running int
	err := db.Read(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE state = 'running'`).Scan(&running)
	})
	if err != nil || (running > 0) != crashed {
		t.Fatalf("%d queue jobs left running (%v)", running, err)
	}

	restarted := time.Now()
	srv = startServer(t, bin, dsn)
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	waitAll(t, wctx, clientOf(srv, k), jobIDs)
	t.Logf("the jobs completed %v after the restart", time.Since(restarted).Round(100*time.Millisecond))
	checkLedger(t, db, k.ID, jobIDs, want)
}

// TestBatchProcesses runs the real server as processes: killed in the middle of batches, several
// sharing one PostgreSQL database, and one that only accepts batches.
func TestBatchProcesses(t *testing.T) {
	bin := buildTally(t, t.TempDir())

	t.Run("a batch interrupted by a kill resumes and applies each item once", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, d store.Dialect) {
			t.Parallel()
			// River hands the job of a killed process back to the queue once its leader's lease
			// and the rescue delay have passed.
			interrupt(t, bin, d, (*server).kill, true)
		})
	})

	t.Run("a batch interrupted by a shutdown resumes at once", func(t *testing.T) {
		t.Parallel()
		// The workers hand their jobs back on the way out, for the next start to take up at once.
		interrupt(t, bin, store.SQLite, (*server).stop, false)
	})

	t.Run("two processes on one PostgreSQL share the jobs", func(t *testing.T) {
		t.Parallel()
		dsn := storetest.DSN(t, store.Postgres)
		k := createTenant(t, bin, dsn, "cluster")
		servers := []*server{startServer(t, bin, dsn, "--batch-workers", "2"), startServer(t, bin, dsn, "--batch-workers", "2")}
		clients := []*client.Client{clientOf(servers[0], k), clientOf(servers[1], k)}
		want := map[string]int64{}
		var jobIDs []int64
		for seed := range 20 {
			// Every batch touches the same 30 customers, so the processes contend for them.
			items, w := adjustments(50, 30, seed)
			created, err := clients[seed%2].SubmitBatch(ctx, "balance-adjustment", items, "")
			if err != nil {
				t.Fatal(err)
			}
			jobIDs = append(jobIDs, created.JobID)
			for cust, p := range w {
				want[cust] += p
			}
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		waitAll(t, wctx, clients[1], jobIDs)
		db := openDB(t, dsn)
		checkLedger(t, db, k.ID, jobIDs, want)
		var workers int
		err := db.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(DISTINCT a) FROM river_job, unnest(attempted_by) AS a`).Scan(&workers)
		})
		if err != nil || workers != 2 {
			t.Fatalf("%d processes worked the jobs (%v), want both", workers, err)
		}
	})

	t.Run("a process without workers queues, limits and stops", func(t *testing.T) {
		t.Parallel()
		dsn := storetest.DSN(t, store.SQLite)
		k := createTenant(t, bin, dsn, "acceptor")
		c := clientOf(startServer(t, bin, dsn, "--batch-workers", "0", "--batch-queue-limit", "2"), k)
		items, _ := adjustments(10, 5, 0)
		var jobIDs []int64
		for range 2 {
			created, err := c.SubmitBatch(ctx, "balance-adjustment", items, "")
			if err != nil {
				t.Fatal(err)
			}
			jobIDs = append(jobIDs, created.JobID)
		}
		_, err := c.SubmitBatch(ctx, "balance-adjustment", items, "")
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 429 || e.Code != 4029 || e.RetryAfter != batch.RetryAfter {
			t.Fatalf("over the queue limit: %v (%+v)", err, e)
		}
		stopped, err := c.StopBatch(ctx, jobIDs[0])
		if err != nil || stopped.Status != client.BatchStopped || stopped.StoppedCount != 10 || stopped.ProcessedCount != 0 || stopped.StartedAt != nil {
			t.Fatalf("stopped while queued: %+v, %v", stopped, err)
		}
		page, err := c.BatchItems(ctx, jobIDs[0], "stopped", 0, "")
		if err != nil || len(page.Items) != 10 {
			t.Fatalf("stopped items: %d, %v", len(page.Items), err)
		}
		if _, err := c.SubmitBatch(ctx, "balance-adjustment", items, ""); err != nil {
			t.Fatalf("after a stop made room: %v", err)
		}
		queued, err := c.GetBatch(ctx, jobIDs[1])
		if err != nil || queued.Status != client.BatchQueued || queued.ProcessedCount != 0 {
			t.Fatalf("with no workers: %+v, %v", queued, err)
		}
	})
}
