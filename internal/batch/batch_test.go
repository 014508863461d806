package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/pgtest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// now is the engine's clock: the same instant for every call, so that two tenants doing the same
// thing get the same times.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// These tests drive the Service without its workers: they call the chunk loop themselves, so that
// they decide exactly when a chunk runs, twice at once, or not at all.

type fixture struct {
	s      *Service
	db     *store.DB
	tenant int64
}

// setup returns a Service on a fresh database; each subtest takes a tenant of its own from it, as
// setting up the database (River's tables included) is what costs.
func setup(t *testing.T, d store.Dialect) fixture {
	t.Helper()
	db := storetest.Open(t, d)
	s, err := New(ctx, Config{DB: db, Engine: engine.New(func() time.Time { return now }), QueueLimit: 3, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{s: s, db: db}
}

var tenantSeq atomic.Int64

// newTenant returns the fixture acting as a new tenant.
func (f fixture) newTenant(t *testing.T) fixture {
	t.Helper()
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		tn, _, err := tx.CreateTenant(ctx, fmt.Sprintf("t%d", tenantSeq.Add(1)), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		f.tenant = tn.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// submit submits n customers items c<first>..c<first+n-1>; items whose index is in bad lack their
// customerId, which the engine refuses.
func (f fixture) submit(t *testing.T, typeName string, first, n int, bad ...int) int64 {
	t.Helper()
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"customerId":"c%d"}`, first+i)
	}
	for _, i := range bad {
		items[i] = `{"email":"nobody@example.com"}`
	}
	c, err := f.s.Submit(ctx, f.tenant, typeName, []byte(`{"body":[`+strings.Join(items, ",")+`]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	return c.JobID
}

// run applies chunks until the job ends.
func (f fixture) run(t *testing.T, jobID int64) {
	t.Helper()
	for {
		done, err := f.s.runChunk(ctx, jobID)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
	}
}

func (f fixture) job(t *testing.T, jobID int64) Job {
	t.Helper()
	j, err := f.s.Get(ctx, f.tenant, jobID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (f fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	err := f.db.Read(ctx, func(tx *store.Tx) error { return tx.QueryRow(ctx, query, args...).Scan(&n) })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkAgreement asserts that a job's counters, its result rows, its items as listed and the
// customers table tell the same story: every succeeded item created its customer once, nothing else
// was created, and every item is in exactly one state.
func (f fixture) checkAgreement(t *testing.T, j Job) {
	t.Helper()
	rows, listed := map[string]int{}, map[string]int{}
	for _, s := range itemStatuses {
		rows[s] = f.count(t, `SELECT COUNT(*) FROM batch_items WHERE job_id = ? AND status = ?`, j.JobID, s)
		page, err := f.s.Items(ctx, f.tenant, j.JobID, s, Page{Limit: MaxItems})
		if err != nil {
			t.Fatal(err)
		}
		listed[s] = len(page.Items)
	}
	if rows[store.ItemSucceeded] != j.FinishedCount || rows[store.ItemFailed] != j.ErrorCount ||
		rows[store.ItemPending] != 0 || rows[store.ItemStopped] != 0 {
		t.Fatalf("job %+v, result rows by status %v", j, rows)
	}
	if listed[store.ItemSucceeded] != j.FinishedCount || listed[store.ItemFailed] != j.ErrorCount ||
		listed[store.ItemStopped] != j.StoppedCount || j.ProcessedCount != j.FinishedCount+j.ErrorCount ||
		j.ProcessedCount+j.StoppedCount+listed[store.ItemPending] != j.TotalCount {
		t.Fatalf("job %+v, items listed by status %v", j, listed)
	}
	if listed[store.ItemPending] != 0 && j.Status != store.BatchQueued && j.Status != store.BatchRunning {
		t.Fatalf("job %s with %d pending items", j.Status, listed[store.ItemPending])
	}
	if len(j.Response.Successful) != j.FinishedCount || len(j.Response.Failed) != j.ErrorCount {
		t.Fatalf("response lists %d/%d, counts %d/%d", len(j.Response.Successful), len(j.Response.Failed), j.FinishedCount, j.ErrorCount)
	}
	for _, r := range j.Response.Successful {
		var res struct{ Created bool }
		if err := json.Unmarshal(r, &res); err != nil || !res.Created {
			t.Fatalf("an item was applied twice (created=false the second time): %s", r)
		}
	}
	if n := f.count(t, `SELECT COUNT(*) FROM customers WHERE tenant_id = ?`, f.tenant); n != j.FinishedCount {
		t.Fatalf("%d customers for %d succeeded items", n, j.FinishedCount)
	}
}

// TestService runs the Service's tests on each database, sharing one database per engine.
func TestService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := setup(t, d)
		t.Run("chunks", func(t *testing.T) { testChunks(t, f) })
		t.Run("exactly once when run twice at once", func(t *testing.T) { testExactlyOnceWhenRunTwiceAtOnce(t, f) })
		t.Run("stop", func(t *testing.T) { testStop(t, f) })
		t.Run("item failures", func(t *testing.T) { testItemFailures(t, f) })
		t.Run("submit", func(t *testing.T) { testSubmit(t, f) })
		t.Run("types behave like single calls", func(t *testing.T) { testTypesBehaveLikeSingleCalls(t, f) })
		t.Run("points read ahead", func(t *testing.T) { testPointsReadAhead(t, f) })
	})
}

func TestParseBody(t *testing.T) {
	many := `{"body":[` + strings.TrimSuffix(strings.Repeat(`{},`, MaxItems+1), ",") + `]}`
	cases := []struct {
		name, body string
		code       loyalty.Code
	}{
		{"empty request", ``, loyalty.CodeInvalidPayload},
		{"not JSON", `{"body": [`, loyalty.CodeInvalidPayload},
		{"an array", `[{}]`, loyalty.CodeMissingArguments},
		{"null", `null`, loyalty.CodeMissingArguments},
		{"no body", `{"items": [{}]}`, loyalty.CodeMissingArguments},
		{"null body", `{"body": null}`, loyalty.CodeMissingArguments},
		{"body an object", `{"body": {"customerId": "c1"}}`, loyalty.CodeMissingArguments},
		{"empty body", `{"body": []}`, loyalty.CodeMissingArguments},
		{"too many items", many, loyalty.CodeLimitExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseBody([]byte(c.body))
			e, ok := loyalty.AsError(err)
			if !ok || e.Code != c.code {
				t.Fatalf("got %v, want code %d", err, c.code)
			}
		})
	}
	t.Run("items are kept whole and compact", func(t *testing.T) {
		items, err := ParseBody([]byte("{\"body\": [ {\"customerId\": \"c1\" }, \"o-1\", 7 ]}"))
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%s|%s|%s", items[0], items[1], items[2])
		if got != `{"customerId":"c1"}|"o-1"|7` {
			t.Fatalf("got %s", got)
		}
	})
}

func testChunks(t *testing.T, f fixture) {
	f = f.newTenant(t)

	t.Run("an id the database cannot hold fails its item alone", func(t *testing.T) {
		// A NUL is valid JSON but PostgreSQL refuses it in text: the chunk must not send it ahead.
		f := f.newTenant(t)
		body := []byte(`{"body":[{"customerId":"n1"},{"customerId":"bad\u0000id"},{"customerId":"n2"},` +
			`{"customerId":"n3","transactionId":"t\u0000x"}]}`)
		created, err := f.s.Submit(ctx, f.tenant, "customers", body, "")
		if err != nil {
			t.Fatal(err)
		}
		f.run(t, created.JobID)
		if j := f.job(t, created.JobID); j.FinishedCount != 3 || j.ErrorCount != 1 {
			t.Fatalf("finished %d, failed %d; want 3 and 1", j.FinishedCount, j.ErrorCount)
		}
	})

	t.Run("a configured chunk size", func(t *testing.T) {
		f := f.newTenant(t)
		f.s.cfg.ChunkSize = 7
		t.Cleanup(func() { f.s.cfg.ChunkSize = DefaultChunkSize })
		id := f.submit(t, "customers", 1000, 10)
		for _, want := range []int{7, 10} {
			if _, err := f.s.runChunk(ctx, id); err != nil {
				t.Fatal(err)
			}
			if j := f.job(t, id); j.ProcessedCount != want {
				t.Fatalf("processed %d items, want %d", j.ProcessedCount, want)
			}
		}
	})

	t.Run("items fail alone, in index order, counted as they go", func(t *testing.T) {
		id := f.submit(t, "customers", 0, 450, 3, 201, 449)
		done, err := f.s.runChunk(ctx, id)
		if err != nil || done {
			t.Fatalf("first chunk: done %v, %v", done, err)
		}
		j := f.job(t, id)
		if j.Status != store.BatchRunning || j.ProcessedCount != DefaultChunkSize || j.ErrorCount != 1 || j.StartedAt == nil || j.CompletedAt != nil {
			t.Fatalf("after one chunk: %+v", j)
		}
		f.run(t, id)
		j = f.job(t, id)
		if j.Status != store.BatchCompleted || j.FinishedCount != 447 || j.ErrorCount != 3 || j.CompletedAt == nil {
			t.Fatalf("at the end: %+v", j)
		}
		var failed []failedItem
		for _, r := range j.Response.Failed {
			var fi failedItem
			if err := json.Unmarshal(r, &fi); err != nil {
				t.Fatal(err)
			}
			failed = append(failed, fi)
		}
		if len(failed) != 3 || failed[0].Index != 3 || failed[1].Index != 201 || failed[2].Index != 449 ||
			failed[1].Code != loyalty.CodeMissingArguments || failed[1].Type != "Payload Error" ||
			len(failed[1].Errors) != 1 || failed[1].Errors[0].Field != "body[201].customerId" {
			t.Fatalf("failed items: %+v", failed)
		}
		f.checkAgreement(t, j)
	})
}

func testExactlyOnceWhenRunTwiceAtOnce(t *testing.T, f fixture) {
	f = f.newTenant(t)
	id := f.submit(t, "customers", 0, 1000, 10)
	// Four workers on the same job, as when the queue hands a job out again while its first
	// run is still going: the job row's lock and progress mark keep each item to one run.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				done, err := f.s.runChunk(ctx, id)
				if err != nil || done {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	j := f.job(t, id)
	if j.Status != store.BatchCompleted || j.FinishedCount != 999 || j.ErrorCount != 1 {
		t.Fatalf("job %+v", j)
	}
	f.checkAgreement(t, j)
}

func testStop(t *testing.T, f fixture) {
	f = f.newTenant(t)

	t.Run("between chunks", func(t *testing.T) {
		id := f.submit(t, "customers", 0, 500, 7)
		if _, err := f.s.runChunk(ctx, id); err != nil {
			t.Fatal(err)
		}
		j, err := f.s.StopJob(ctx, f.tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != store.BatchStopped || j.ProcessedCount != DefaultChunkSize || j.StoppedCount != 500-DefaultChunkSize ||
			j.ErrorCount != 1 || j.CompletedAt == nil {
			t.Fatalf("stopped: %+v", j)
		}
		// A worker that still runs the job applies nothing more.
		f.run(t, id)
		again, err := f.s.StopJob(ctx, f.tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if again.Status != j.Status || again.StoppedCount != j.StoppedCount || again.ProcessedCount != j.ProcessedCount ||
			!again.CompletedAt.Equal(*j.CompletedAt) {
			t.Fatalf("stopping again changed %+v to %+v", j, again)
		}
		f.checkAgreement(t, again)
	})

	t.Run("an ended job is left as it is", func(t *testing.T) {
		id := f.submit(t, "customers", 1000, 3)
		f.run(t, id)
		j, err := f.s.StopJob(ctx, f.tenant, id)
		if err != nil || j.Status != store.BatchCompleted || j.StoppedCount != 0 {
			t.Fatalf("got %+v, %v", j, err)
		}
	})

	t.Run("another tenant's job is not found", func(t *testing.T) {
		id := f.submit(t, "customers", 2000, 1)
		_, err := f.s.StopJob(ctx, f.tenant+1, id)
		if e, ok := loyalty.AsError(err); !ok || e.Code != loyalty.CodeNotFound {
			t.Fatalf("got %v", err)
		}
	})
}

// testType is a batch type whose operation saves the customer and then, for an item with the
// email "refuse", breaks a unique constraint and refuses the item, or, for "crash", fails like
// the database would.
func testType() Type {
	return Of("test", "Test Batch Job", "ok", func(ctx context.Context, tx *store.Tx, tenantID int64,
		req *loyalty.CustomerRequest) (engine.CustomerResult, error) {
		id, err := tx.SaveCustomer(ctx, tenantID, loyalty.Customer{CustomerID: req.CustomerID}, time.Now())
		if err != nil {
			return engine.CustomerResult{}, err
		}
		switch req.Email {
		case "refuse":
			if _, err := tx.Exec(ctx, `INSERT INTO customers (tenant_id, customer_id, created_at, updated_at)
				VALUES (?, ?, 0, 0)`, tenantID, req.CustomerID); !store.IsUniqueViolation(err) {
				return engine.CustomerResult{}, fmt.Errorf("want a unique violation, got %v", err)
			}
			return engine.CustomerResult{}, loyalty.Errorf(loyalty.CodeDuplicate, "refused")
		case "crash":
			return engine.CustomerResult{}, errors.New("connection lost")
		}
		return engine.CustomerResult{GameballID: id, CustomerID: req.CustomerID, Created: true}, nil
	})
}

func testItemFailures(t *testing.T, f fixture) {
	f = f.newTenant(t)
	f.s.types["test"] = testType()
	submit := func(items ...string) int64 {
		c, err := f.s.Submit(ctx, f.tenant, "test", []byte(`{"body":[`+strings.Join(items, ",")+`]}`), "")
		if err != nil {
			t.Fatal(err)
		}
		return c.JobID
	}

	t.Run("a refused item leaves no trace, even after a failed statement", func(t *testing.T) {
		id := submit(`{"customerId":"a1"}`, `{"customerId":"a2","email":"refuse"}`, `{"customerId":"a3"}`)
		f.run(t, id)
		j := f.job(t, id)
		if j.FinishedCount != 2 || j.ErrorCount != 1 {
			t.Fatalf("job %+v", j)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM customers WHERE customer_id = 'a2'`); n != 0 {
			t.Fatalf("the refused item's customer exists (%d rows)", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM customers WHERE customer_id IN ('a1', 'a3')`); n != 2 {
			t.Fatalf("%d of the accepted items' customers exist", n)
		}
	})

	t.Run("an infrastructure failure rolls back the whole chunk", func(t *testing.T) {
		id := submit(`{"customerId":"b1"}`, `{"customerId":"b2","email":"crash"}`)
		if _, err := f.s.runChunk(ctx, id); err == nil || !strings.Contains(err.Error(), "connection lost") {
			t.Fatalf("got %v", err)
		}
		j := f.job(t, id)
		if j.Status != store.BatchQueued || j.ProcessedCount != 0 || j.StartedAt != nil {
			t.Fatalf("job %+v", j)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM customers WHERE customer_id = 'b1'`); n != 0 {
			t.Fatal("the rolled-back chunk left a customer")
		}
	})

	t.Run("the last attempt fails the remaining items", func(t *testing.T) {
		id := submit(`{"customerId":"c1"}`, `{"customerId":"c2","email":"crash"}`)
		w := &worker{s: f.s}
		job := &river.Job[jobArgs]{JobRow: &rivertype.JobRow{Attempt: 3, MaxAttempts: 3}, Args: jobArgs{BatchID: id}}
		if err := w.Work(ctx, job); err == nil {
			t.Fatal("the failing attempt reported no error")
		}
		j := f.job(t, id)
		if j.Status != store.BatchFailed || j.ErrorCount != 2 || j.FinishedCount != 0 || j.CompletedAt == nil {
			t.Fatalf("job %+v", j)
		}
		var fi failedItem
		if err := json.Unmarshal(j.Response.Failed[0], &fi); err != nil || fi.Code != loyalty.CodeInternal || fi.CustomerID != "c1" {
			t.Fatalf("failed item %s (%v)", j.Response.Failed[0], err)
		}
	})
}

func testSubmit(t *testing.T, f fixture) {
	f = f.newTenant(t)
	body := []byte(`{"body":[{"customerId":"c1"}]}`)

	t.Run("idempotency key", func(t *testing.T) {
		first, err := f.s.Submit(ctx, f.tenant, "customers", body, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.s.Submit(ctx, f.tenant, "customers", []byte(" {\"body\": [ {\"customerId\": \"c1\"} ]}"), "key-1")
		if err != nil || again.JobID != first.JobID {
			t.Fatalf("retry: %+v, %v; first %+v", again, err, first)
		}
		_, err = f.s.Submit(ctx, f.tenant, "customers", []byte(`{"body":[{"customerId":"c2"}]}`), "key-1")
		if e, ok := loyalty.AsError(err); !ok || e.Code != loyalty.CodeInvalidValue || e.Fields[0].Field != "Idempotency-Key" {
			t.Fatalf("other body: %v", err)
		}
		_, err = f.s.Submit(ctx, f.tenant, "customers", []byte(`{"body":[{"customerId":"c1"}]}`), "key 1")
		if e, ok := loyalty.AsError(err); !ok || e.Code != loyalty.CodeInvalidValue {
			t.Fatalf("key with a space: %v", err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM batch_jobs WHERE tenant_id = ?`, f.tenant); n != 1 {
			t.Fatalf("%d jobs stored", n)
		}
	})

	t.Run("queue limit", func(t *testing.T) {
		// One job is queued from the subtest before; the limit is 3.
		for range 2 {
			if _, err := f.s.Submit(ctx, f.tenant, "customers", body, ""); err != nil {
				t.Fatal(err)
			}
		}
		_, err := f.s.Submit(ctx, f.tenant, "customers", body, "")
		if e, ok := loyalty.AsError(err); !ok || e.Code != loyalty.CodeTooManyRequests {
			t.Fatalf("over the limit: %v", err)
		}
		page, err := f.s.List(ctx, f.tenant, ListFilter{}, Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		f.run(t, page.Jobs[0].JobID)
		if _, err := f.s.Submit(ctx, f.tenant, "customers", body, ""); err != nil {
			t.Fatalf("after a job ended: %v", err)
		}
	})

	t.Run("one key at once", func(t *testing.T) {
		// Submissions with one key that arrive together store one job and all answer with it.
		f := f.newTenant(t)
		ids := make(chan int64, 8)
		errs := make(chan error, 8)
		for range 8 {
			go func() {
				j, err := f.s.Submit(ctx, f.tenant, "customers", body, "key-2")
				ids <- j.JobID
				errs <- err
			}()
		}
		first := <-ids
		for i := range 8 {
			if err := <-errs; err != nil {
				t.Fatalf("submission %d: %v", i, err)
			}
			if i > 0 {
				if id := <-ids; id != first {
					t.Fatalf("jobs %d and %d for one key", first, id)
				}
			}
		}
		if n := f.count(t, `SELECT COUNT(*) FROM batch_jobs WHERE tenant_id = ?`, f.tenant); n != 1 {
			t.Fatalf("%d jobs stored", n)
		}
	})
}
