package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// stepsItem is an item of the steps test type.
type stepsItem struct {
	CustomerID    string `json:"customerId"`
	TransactionID string `json:"transactionId"`
	Refuse        bool   `json:"refuse"`
}

type stepsResult struct {
	CustomerID string `json:"customerId"`
	Ref        int64  `json:"ref"`
}

// stepsRefusal is the code the steps test type refuses items with.
const stepsRefusal = loyalty.CodeInsufficient

// stepsType is a batch type whose operation writes to the transaction's unit only (no statement
// of its own) and then may refuse the item, which is what makes a chunk fall back to savepoints:
// it ensures the item's customer, and refuses it right away when the customerId starts with "bad";
// otherwise it credits one point under the item's transactionId, and then refuses the item when
// it has "refuse": true, or succeeds.
func stepsType() Type {
	return Of("steps", "Steps Test Batch Job", "credited", func(ctx context.Context, tx *store.Tx, tenantID int64,
		req *stepsItem) (stepsResult, error) {
		ref, err := tx.EnsureCustomer(ctx, tenantID, req.CustomerID, now)
		if err != nil {
			return stepsResult{}, err
		}
		if strings.HasPrefix(req.CustomerID, "bad") {
			return stepsResult{}, loyalty.Errorf(stepsRefusal, "customer %s refused", req.CustomerID)
		}
		at := store.Micros(now)
		credit := store.Txn{TenantID: tenantID, CustomerRef: ref, TransactionID: req.TransactionID, Kind: loyalty.KindManualAccumulation,
			Points: 1, Currency: "USD", Time: at, CreatedAt: at, AvailableAt: at, ExpiresAt: store.Never}
		if err := tx.InsertTxn(ctx, &credit); errors.Is(err, store.ErrDuplicate) {
			return stepsResult{}, loyalty.Errorf(loyalty.CodeDuplicate, "transaction %s is taken", req.TransactionID)
		} else if err != nil {
			return stepsResult{}, err
		}
		lot := store.Lot{CustomerRef: ref, TransactionRef: credit.ID, Points: 1, AvailableAt: at, ExpiresAt: store.Never}
		if err := tx.InsertLot(ctx, &lot, at); err != nil {
			return stepsResult{}, err
		}
		if err := tx.AddLifetimeEarned(ctx, ref, 1); err != nil {
			return stepsResult{}, err
		}
		if req.Refuse {
			return stepsResult{}, loyalty.Errorf(stepsRefusal, "item %s refused after crediting", req.TransactionID)
		}
		return stepsResult{CustomerID: req.CustomerID, Ref: ref}, nil
	})
}

// TestChunkFallsBackToSteps proves the savepoint fallback of a chunk (worker.go: applyChunk,
// errNeedsSteps, runChunk): items refused after writing to the unit, mixed with items that succeed,
// several of them for the same customers, over three chunks (the last without refusals), on both
// databases. Every good item succeeds and its credit is kept exactly once; every refused item fails
// with the operation's own code and leaves nothing: no "bad" customer exists, a customer whose only
// item was refused does not exist, no refused transactionId exists; the job's counters and results
// agree with the items. With chunks of MaxItems the same items make one chunk that reads ahead in
// three groups (prefetchGroup).
func TestChunkFallsBackToSteps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := setup(t, d)
		for _, size := range []int{DefaultChunkSize, MaxItems} {
			t.Run(fmt.Sprintf("chunks of %d", size), func(t *testing.T) {
				f.s.cfg.ChunkSize = size
				t.Cleanup(func() { f.s.cfg.ChunkSize = DefaultChunkSize })
				checkStepsFallback(t, f.newTenant(t))
			})
		}
	})
}

func checkStepsFallback(t *testing.T, f fixture) {
	t.Helper()
	f.s.types["steps"] = stepsType()

	const n = 2*DefaultChunkSize + 50
	items := make([]string, n)
	type outcome struct {
		good     bool
		customer string
	}
	want := make([]outcome, n)
	credits := map[string]int{} // good customer -> credited points
	var refusedTxns []string
	for i := range items {
		var it stepsItem
		switch {
		case i < 2*DefaultChunkSize && i%10 == 3:
			it = stepsItem{CustomerID: fmt.Sprintf("bad%d", i%4)}
		case i < 2*DefaultChunkSize && i%17 == 5:
			it = stepsItem{CustomerID: fmt.Sprintf("g%d", i%7), Refuse: true}
		case i == 44:
			it = stepsItem{CustomerID: "refused-only", Refuse: true}
		default:
			it = stepsItem{CustomerID: fmt.Sprintf("g%d", i%7)}
		}
		it.TransactionID = fmt.Sprintf("t%d", i)
		raw, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		items[i] = string(raw)
		good := !it.Refuse && !strings.HasPrefix(it.CustomerID, "bad")
		want[i] = outcome{good: good, customer: it.CustomerID}
		if good {
			credits[it.CustomerID]++
		} else if !strings.HasPrefix(it.CustomerID, "bad") {
			refusedTxns = append(refusedTxns, it.TransactionID)
		}
	}
	goodCount := 0
	for _, w := range want {
		if w.good {
			goodCount++
		}
	}

	c, err := f.s.Submit(ctx, f.tenant, "steps", []byte(`{"body":[`+strings.Join(items, ",")+`]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	f.run(t, c.JobID)
	j := f.job(t, c.JobID)

	if j.Status != store.BatchCompleted || j.TotalCount != n || j.ProcessedCount != n || j.FinishedCount != goodCount ||
		j.ErrorCount != n-goodCount || j.StoppedCount != 0 {
		t.Fatalf("job %+v; want completed, %d items, %d succeeded, %d failed", j, n, goodCount, n-goodCount)
	}
	if len(j.Response.Successful) != goodCount || len(j.Response.Failed) != n-goodCount {
		t.Fatalf("the response lists %d succeeded and %d failed items; want %d and %d",
			len(j.Response.Successful), len(j.Response.Failed), goodCount, n-goodCount)
	}
	seen := map[int]bool{}
	for _, r := range j.Response.Successful {
		var res struct {
			Index      int
			CustomerID string
			Ref        int64
		}
		if err := json.Unmarshal(r, &res); err != nil {
			t.Fatal(err)
		}
		if w := want[res.Index]; !w.good || res.CustomerID != w.customer || res.Ref == 0 || seen[res.Index] {
			t.Errorf("succeeded item %s; want %+v", r, w)
		}
		seen[res.Index] = true
	}
	for _, r := range j.Response.Failed {
		var fi failedItem
		if err := json.Unmarshal(r, &fi); err != nil {
			t.Fatal(err)
		}
		if w := want[fi.Index]; w.good || fi.CustomerID != w.customer || fi.Code != stepsRefusal || seen[fi.Index] {
			t.Errorf("failed item %s; want %+v with code %d", r, w, stepsRefusal)
		}
		seen[fi.Index] = true
	}
	if len(seen) != n {
		t.Errorf("%d items have a result; want %d", len(seen), n)
	}
	for _, s := range itemStatuses {
		wantN := map[string]int{store.ItemSucceeded: goodCount, store.ItemFailed: n - goodCount}[s]
		if got := f.count(t, `SELECT COUNT(*) FROM batch_items WHERE job_id = ? AND status = ?`, c.JobID, s); got != wantN {
			t.Errorf("%d items %s; want %d", got, s, wantN)
		}
	}

	if got := f.count(t, `SELECT COUNT(*) FROM customers WHERE tenant_id = ? AND customer_id LIKE 'bad%'`, f.tenant); got != 0 {
		t.Errorf("%d bad customers exist; want none", got)
	}
	if got := f.count(t, `SELECT COUNT(*) FROM customers WHERE tenant_id = ? AND customer_id = 'refused-only'`, f.tenant); got != 0 {
		t.Errorf("the customer whose only item was refused exists")
	}
	if got := f.count(t, `SELECT COUNT(*) FROM customers WHERE tenant_id = ?`, f.tenant); got != len(credits) {
		t.Errorf("%d customers; want the %d good ones", got, len(credits))
	}
	for id, points := range credits {
		for what, query := range map[string]string{
			"transactions":     `SELECT COUNT(*) FROM point_transactions t JOIN customers c ON c.id = t.customer_ref WHERE c.tenant_id = ? AND c.customer_id = ?`,
			"entries":          `SELECT COUNT(*) FROM point_entries e JOIN customers c ON c.id = e.customer_ref WHERE c.tenant_id = ? AND c.customer_id = ?`,
			"remaining points": `SELECT COALESCE(SUM(remaining), 0) FROM point_lots l JOIN customers c ON c.id = l.customer_ref WHERE c.tenant_id = ? AND c.customer_id = ?`,
			"lifetime points":  `SELECT COALESCE(SUM(lifetime_earned), 0) FROM point_accounts a JOIN customers c ON c.id = a.customer_ref WHERE c.tenant_id = ? AND c.customer_id = ?`,
		} {
			if got := f.count(t, query, f.tenant, id); got != points {
				t.Errorf("customer %s: %s %d; want %d (one per good item)", id, what, got, points)
			}
		}
	}
	for _, id := range refusedTxns {
		if got := f.count(t, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ? AND transaction_id = ?`, f.tenant, id); got != 0 {
			t.Errorf("the refused item's transaction %s exists", id)
		}
	}
	if got := f.count(t, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ?`, f.tenant); got != goodCount {
		t.Errorf("%d transactions; want one per good item, %d", got, goodCount)
	}
}
