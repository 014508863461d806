package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

func TestBatchSmoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		a := env.NewTenant(t, "a")
		items := make([]client.CustomerRequest, 1000)
		for i := range items {
			items[i] = client.CustomerRequest{CustomerID: fmt.Sprintf("c%d", i)}
		}
		items[5].CustomerID = ""
		start := time.Now()
		created, err := a.Client.SubmitBatch(ctx, "customers", items, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("submit %v %+v", time.Since(start), created)
		b, err := a.Client.WaitBatch(ctx, created.JobID, 20*time.Millisecond)
		t.Logf("done %v: %+v %v", time.Since(start), b.Status, err)
		t.Logf("counts %d %d %d", b.FinishedCount, b.ErrorCount, b.ProcessedCount)
		t.Logf("failed %s", b.Response.Failed[0].Raw)
		t.Logf("ok %s", b.Response.Successful[0].Raw)
	})
}
