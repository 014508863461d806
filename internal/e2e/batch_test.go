package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/httpapi"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// customerItems returns n customers items named prefix0, prefix1, ...
func customerItems(prefix string, n int) []client.CustomerRequest {
	items := make([]client.CustomerRequest, n)
	for i := range items {
		items[i] = client.CustomerRequest{CustomerID: fmt.Sprintf("%s%d", prefix, i)}
	}
	return items
}

// waitBatch waits for a job to end, within a deadline.
func waitBatch(t *testing.T, c *client.Client, jobID int64) client.Batch {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	b, err := c.WaitBatch(wctx, jobID, 20*time.Millisecond)
	if err != nil {
		t.Fatalf("wait for job %d: %v", jobID, err)
	}
	return b
}

// tableRows counts rows of a table (batch_jobs, batch_items or river_job).
func tableRows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	err := db.Read(ctx, func(tx *store.Tx) error { return tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n) })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		a := env.NewTenant(t, "a")
		b := env.NewTenant(t, "b")

		t.Run("envelope errors store nothing", func(t *testing.T) {
			tables := []string{"batch_jobs", "batch_requests", "batch_items", "river_job"}
			before := map[string]int{}
			for _, table := range tables {
				before[table] = tableRows(t, env.App.DB, table)
			}
			oversize := `{"body":[{"customerId":"` + strings.Repeat("x", httpapi.DefaultMaxBodyBytes) + `"}]}`
			tooMany, _ := json.Marshal(map[string]any{"body": customerItems("c", 1001)})
			cases := []struct {
				name, body   string
				c            *client.Client
				status, code int
			}{
				{"not JSON", `{"body": [`, a.Client, 400, 3016},
				{"no body", `{"items": [{"customerId": "c1"}]}`, a.Client, 400, 3000},
				{"body not an array", `{"body": {"customerId": "c1"}}`, a.Client, 400, 3000},
				{"not an object", `[{"customerId": "c1"}]`, a.Client, 400, 3000},
				{"empty", `{"body": []}`, a.Client, 400, 3000},
				{"1,001 items", string(tooMany), a.Client, 422, 3011},
				{"over the byte limit", oversize, a.Client, 413, 3011},
				{"no secret key", `{"body": [{"customerId": "c1"}]}`, a.PublicKey, 401, 1001},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					wantError(t, raw(c.c, "POST", "/batch/customers", c.body), c.status, c.code)
				})
			}
			// There is no batch type of that name (GET and DELETE answer at that path: a job id), and
			// the key is checked first, as on every batch route.
			wantError(t, raw(a.Client, "POST", "/batch/coupons", `{"body": [{}]}`), 404, 4004)
			wantError(t, raw(a.PublicKey, "POST", "/batch/coupons", `{"body": [{}]}`), 401, 1001)
			wantError(t, raw(a.Client, "PUT", "/batch/coupons", `{"body": [{}]}`), 405, 4005)
			for _, table := range tables {
				if n := tableRows(t, env.App.DB, table); n != before[table] {
					t.Errorf("%s: %d rows before, %d after", table, before[table], n)
				}
			}
		})

		t.Run("a job's life", func(t *testing.T) {
			items := customerItems("life", 1000)
			items[3].CustomerID = ""
			items[500].Email = strings.Repeat("e", 300)
			created, err := a.Client.SubmitBatch(ctx, "customers", items, "")
			if err != nil {
				t.Fatal(err)
			}
			if created.JobID == 0 || created.Status != client.BatchQueued || created.TotalCount != 1000 ||
				created.Link != httpapi.BasePath+fmt.Sprintf("/batch/%d", created.JobID) {
				t.Fatalf("created %+v", created)
			}
			job := waitBatch(t, a.Client, created.JobID)
			if job.Status != client.BatchCompleted || job.Type != "customers" || job.Operation != "Customer Creation Batch Job" ||
				job.TotalCount != 1000 || job.FinishedCount != 998 || job.ErrorCount != 2 || job.ProcessedCount != 1000 ||
				job.StoppedCount != 0 || !job.CreatedAt.Equal(env.Clock.Now()) || job.StartedAt == nil || job.CompletedAt == nil {
				t.Fatalf("job %+v", job)
			}
			r := job.Response
			if len(r.Successful) != 998 || len(r.Failed) != 2 || r.Successful[0].Index != 0 || r.Successful[0].CustomerID != "life0" ||
				r.Successful[0].Message == "" || !strings.Contains(string(r.Successful[0].Raw), `"created":true`) {
				t.Fatalf("successful[0] %+v of %d", r.Successful[0], len(r.Successful))
			}
			f0, f1 := r.Failed[0], r.Failed[1]
			if f0.Index != 3 || f0.Code != 3000 || f0.Type != "Payload Error" || f0.Error == "" || f0.Message != f0.Error ||
				f1.Index != 500 || f1.CustomerID != "life500" || f1.Code != 3003 || len(f1.Errors) != 1 || f1.Errors[0].Field != "body[500].email" {
				t.Fatalf("failed %+v", r.Failed)
			}
			if _, err := a.Client.GetCustomer(ctx, "life999"); err != nil {
				t.Fatalf("a customer of the batch: %v", err)
			}

			t.Run("items, filtered and paged", func(t *testing.T) {
				page, err := a.Client.BatchItems(ctx, created.JobID, "failed", 1, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) != 1 || !page.HasMore || page.Items[0].Index != 3 || page.Items[0].Status != "failed" ||
					page.Items[0].Result == nil || page.Items[0].Result.Code != 3000 || string(page.Items[0].Request) != `{"customerId":""}` {
					t.Fatalf("first page %+v", page)
				}
				page, err = a.Client.BatchItems(ctx, created.JobID, "failed", 1, page.NextCursor)
				if err != nil || len(page.Items) != 1 || page.HasMore || page.Items[0].Index != 500 {
					t.Fatalf("second page %+v, %v", page, err)
				}
				all, err := a.Client.BatchItems(ctx, created.JobID, "", 200, "")
				if err != nil || len(all.Items) != 200 || all.NextCursor != "199" || all.Items[10].Status != "succeeded" {
					t.Fatalf("all items: %d, cursor %q, %v", len(all.Items), all.NextCursor, err)
				}
				wantError(t, raw(a.Client, "GET", fmt.Sprintf("/batch/%d/items?status=done", created.JobID), ""), 422, 3003)
				wantError(t, raw(a.Client, "GET", fmt.Sprintf("/batch/%d/items?startAfter=x", created.JobID), ""), 422, 3003)
			})

			t.Run("list", func(t *testing.T) {
				other, err := a.Client.SubmitBatch(ctx, "balance-inquiry", []map[string]string{{"customerId": "life1"}}, "")
				if err != nil {
					t.Fatal(err)
				}
				waitBatch(t, a.Client, other.JobID)
				list, err := a.Client.ListBatches(ctx, "", "", 1, "")
				if err != nil || len(list.Jobs) != 1 || list.Jobs[0].JobID != other.JobID || !list.HasMore || list.Jobs[0].Response != nil {
					t.Fatalf("newest first: %+v, %v", list, err)
				}
				list, err = a.Client.ListBatches(ctx, "", "", 1, list.NextCursor)
				if err != nil || len(list.Jobs) != 1 || list.Jobs[0].JobID != created.JobID {
					t.Fatalf("second page: %+v, %v", list, err)
				}
				list, err = a.Client.ListBatches(ctx, "completed", "customers", 0, "")
				if err != nil || len(list.Jobs) != 1 || list.Jobs[0].JobID != created.JobID {
					t.Fatalf("by status and type: %+v, %v", list, err)
				}
				list, err = a.Client.ListBatches(ctx, "running", "", 0, "")
				if err != nil || len(list.Jobs) != 0 {
					t.Fatalf("running: %+v, %v", list, err)
				}
				wantError(t, raw(a.Client, "GET", "/batch?status=done", ""), 422, 3003)
			})

			t.Run("aliases", func(t *testing.T) {
				var alias client.Batch
				err := a.Client.Do(ctx, "GET", fmt.Sprintf("/batches/%d/status", created.JobID), nil, &alias)
				if err != nil || alias.JobID != created.JobID || alias.FinishedCount != 998 || len(alias.Response.Failed) != 2 {
					t.Fatalf("status alias: %+v, %v", alias, err)
				}
			})

			t.Run("another tenant sees nothing", func(t *testing.T) {
				path := fmt.Sprintf("/batch/%d", created.JobID)
				wantError(t, raw(b.Client, "GET", path, ""), 404, 4004)
				wantError(t, raw(b.Client, "GET", path+"/items", ""), 404, 4004)
				wantError(t, raw(b.Client, "DELETE", path, ""), 404, 4004)
				wantError(t, raw(b.Client, "POST", fmt.Sprintf("/batches/%d/stop", created.JobID), ""), 404, 4004)
				wantError(t, raw(b.Client, "GET", "/batch/x", ""), 404, 4004)
				list, err := b.Client.ListBatches(ctx, "", "", 0, "")
				if err != nil || len(list.Jobs) != 0 {
					t.Fatalf("b's list: %+v, %v", list, err)
				}
			})
		})

		t.Run("idempotency key", func(t *testing.T) {
			items := customerItems("idem", 5)
			first, err := a.Client.SubmitBatch(ctx, "customers", items, "import-42")
			if err != nil {
				t.Fatal(err)
			}
			jobs := tableRows(t, env.App.DB, "batch_jobs")
			again, err := a.Client.SubmitBatch(ctx, "customers", items, "import-42")
			if err != nil || again.JobID != first.JobID || again.TotalCount != 5 {
				t.Fatalf("retry: %+v, %v; first %+v", again, err, first)
			}
			_, err = a.Client.SubmitBatch(ctx, "customers", customerItems("idem", 6), "import-42")
			e := wantError(t, err, 422, 3003)
			if len(e.Errors) != 1 || e.Errors[0].Field != "Idempotency-Key" {
				t.Fatalf("mismatch: %+v", e)
			}
			if n := tableRows(t, env.App.DB, "batch_jobs"); n != jobs {
				t.Fatalf("%d jobs, %d before the retries", n, jobs)
			}
			// Keys are the tenant's own.
			other, err := b.Client.SubmitBatch(ctx, "customers", items, "import-42")
			if err != nil || other.JobID == first.JobID {
				t.Fatalf("the other tenant's key: %+v, %v", other, err)
			}
		})

		t.Run("stop agrees with the data", func(t *testing.T) {
			tn := env.NewTenant(t, "stopper")
			created, err := tn.Client.SubmitBatch(ctx, "customers", customerItems("s", 1000), "")
			if err != nil {
				t.Fatal(err)
			}
			stopped, err := tn.Client.StopBatch(ctx, created.JobID)
			if err != nil {
				t.Fatal(err)
			}
			if stopped.Status != client.BatchStopped || stopped.ProcessedCount+stopped.StoppedCount != 1000 || stopped.CompletedAt == nil {
				t.Fatalf("stopped %+v", stopped)
			}
			// Whatever a worker does next, the job stays as it was stopped.
			var alias client.Batch
			if err := tn.Client.Do(ctx, "POST", fmt.Sprintf("/batches/%d/stop", created.JobID), nil, &alias); err != nil {
				t.Fatal(err)
			}
			if alias.Status != client.BatchStopped || alias.ProcessedCount != stopped.ProcessedCount || alias.StoppedCount != stopped.StoppedCount {
				t.Fatalf("stopped again: %+v, first %+v", alias, stopped)
			}
			customers, err := tn.Client.ListCustomers(ctx, 200, "")
			if err != nil {
				t.Fatal(err)
			}
			n := len(customers.Customers)
			for customers.HasMore {
				if customers, err = tn.Client.ListCustomers(ctx, 200, customers.NextCursor); err != nil {
					t.Fatal(err)
				}
				n += len(customers.Customers)
			}
			if n != stopped.FinishedCount || len(stopped.Response.Successful) != n {
				t.Fatalf("%d customers, %d finished items, %d listed", n, stopped.FinishedCount, len(stopped.Response.Successful))
			}
			items, err := tn.Client.BatchItems(ctx, created.JobID, "stopped", 200, "")
			if err != nil {
				t.Fatal(err)
			}
			if stopped.StoppedCount > 0 && (len(items.Items) == 0 || items.Items[0].Index != stopped.ProcessedCount || items.Items[0].Result != nil) {
				t.Fatalf("stopped items %+v after %d processed", items.Items[:min(1, len(items.Items))], stopped.ProcessedCount)
			}
		})

		t.Run("stopping an ended job changes nothing", func(t *testing.T) {
			created, err := a.Client.SubmitBatch(ctx, "customers", customerItems("end", 2), "")
			if err != nil {
				t.Fatal(err)
			}
			done := waitBatch(t, a.Client, created.JobID)
			stopped, err := a.Client.StopBatch(ctx, created.JobID)
			if err != nil || stopped.Status != client.BatchCompleted || !stopped.CompletedAt.Equal(*done.CompletedAt) || stopped.StoppedCount != 0 {
				t.Fatalf("got %+v, %v", stopped, err)
			}
		})
	})
}
