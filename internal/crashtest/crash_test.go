package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/pgtest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

var (
	runsFlag = flag.Int("crash.runs", 0, "crash runs per database; 0 means 20 on SQLite and 10 on PostgreSQL")
	seedFlag = flag.Uint64("crash.seed", 1, "seed of the workloads and of the moments of the kills")
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestCrashRecovery runs the crash runs on each database. Every run starts (or restarts) the
// server, sends a random mix of single calls and batches from three clients, kills the server with
// SIGKILL at a random moment, restarts it and checks the database against what the clients were
// told. The database is kept from run to run, so later runs also recover the batches that earlier
// kills interrupted; at the end every batch must finish.
func TestCrashRecovery(t *testing.T) {
	bin := buildTally(t)
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		runs := *runsFlag
		if runs == 0 {
			runs = map[store.Dialect]int{store.SQLite: 20, store.Postgres: 10}[d]
		}
		h := &harness{t: t, bin: bin, dsn: storetest.DSN(t, d)}
		srv := h.start() // killed by the test's cleanup
		db, err := store.Open(context.Background(), h.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rec := newRecord()
		for run := range runs {
			r := rand.New(rand.NewPCG(*seedFlag, uint64(run)<<1|uint64(d)))
			h.crashRun(run, r, srv, rec)
			srv = h.start()
			rec.check(t, db, h.tenantID(db), false)
			if t.Failed() {
				t.Fatalf("run %d (seed %d) broke a guarantee; the server's log:\n%s", run, *seedFlag, srv.logs.tail())
			}
		}
		open := waitBatchesEnded(t, db)
		rec.check(t, db, h.tenantID(db), true)
		t.Logf("%d runs: %s; %d batches were left open at the last restart", runs, rec.summary(t), open)
	})
}

// buildTally builds the tally command into a temporary directory.
func buildTally(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tally")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/tally-loyalty/tally/cmd/tally").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// harness runs `tally serve` processes on one database.
type harness struct {
	t                 *testing.T
	bin, dsn          string
	apiKey, secretKey string // printed by the first start
}

// server is one running `tally serve` process.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *logBuffer
	done chan struct{} // closed when the process has exited
}

var (
	serving  = regexp.MustCompile(`"msg":"tally serving".*?"addr":"([^"]+)"`)
	printKey = regexp.MustCompile(`^\s*(apikey|secretkey):\s+(tly_\w+)$`)
)

// start runs the server and waits until it serves. On the first start it reads the keys of the
// tenant it creates.
func (h *harness) start() *server {
	t := h.t
	t.Helper()
	cmd := exec.Command(h.bin, "serve", "--db", h.dsn, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--rate-read=0", "--rate-write=0", "--rate-events=0", "--rate-batch=0", "--auth-failures=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tally: %v", err)
	}
	s := &server{cmd: cmd, logs: &logBuffer{}, done: make(chan struct{})}
	t.Cleanup(s.kill) // a failing test leaves no process behind
	// Both outputs are read to their end; lines that say where the server listens or what the
	// keys are become matches.
	matches := make(chan []string, 4)
	var pipes sync.WaitGroup
	for _, pipe := range []io.Reader{stdout, stderr} {
		pipes.Go(func() {
			sc := bufio.NewScanner(pipe)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				s.logs.add(sc.Text())
				for _, re := range []*regexp.Regexp{serving, printKey} {
					if m := re.FindStringSubmatch(sc.Text()); m != nil {
						matches <- m
					}
				}
			}
		})
	}
	go func() {
		pipes.Wait()
		_ = cmd.Wait() // after the pipes are drained, as exec requires; the exit status is of no interest
		close(s.done)
	}()
	timeout := time.After(time.Minute)
	for s.url == "" || h.apiKey == "" || h.secretKey == "" {
		select {
		case m := <-matches:
			switch m[1] {
			case "apikey":
				h.apiKey = m[2]
			case "secretkey":
				h.secretKey = m[2]
			default:
				s.url = "http://" + m[1]
			}
		case <-s.done:
			t.Fatalf("tally exited before it served: %v\n%s", cmd.ProcessState, s.logs.tail())
		case <-timeout:
			s.kill()
			t.Fatalf("tally did not serve within a minute:\n%s", s.logs.tail())
		}
	}
	return s
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	_ = s.cmd.Process.Kill() // fails only when it has exited already
	<-s.done
}

// tenantID returns the id of the tenant the first start created.
func (h *harness) tenantID(db *store.DB) int64 {
	var id int64
	err := db.Read(context.Background(), func(tx *store.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT id FROM tenants WHERE name = 'default'`).Scan(&id)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// logBuffer keeps a process's log lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
}

func (b *logBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var buf bytes.Buffer
	for _, l := range b.lines[max(0, len(b.lines)-40):] {
		buf.WriteString(l + "\n")
	}
	return buf.String()
}

// crashRun sends the run's workload from three clients until the server is killed, at a random
// moment within the first 430 ms.
func (h *harness) crashRun(run int, r *rand.Rand, srv *server, rec *record) {
	c := client.New(srv.url, h.apiKey, h.secretKey)
	customers := make([]string, 4) // few, so that clients contend for them
	for i := range customers {
		customers[i] = fmt.Sprintf("r%d-c%d", run, i)
	}
	var wg sync.WaitGroup
	for w := range 3 {
		wr := rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
		wg.Go(func() {
			for i := 0; ; i++ {
				if !rec.send(h.t, c, wr, fmt.Sprintf("r%d-w%d-%d", run, w, i), customers) {
					return
				}
			}
		})
	}
	time.Sleep(time.Duration(30+r.IntN(400)) * time.Millisecond) // the fault: a moment at random
	srv.kill()
	wg.Wait()
}

// outcome is what a client learned of one request.
type outcome int

const (
	acked    outcome = iota // 2xx: it must have happened
	rejected                // 4xx: it must not have happened
	unknown                 // no answer: all of it or none of it happened
)

// txn is a manual transaction sent, singly or as a batch item.
type txn struct {
	customer string
	points   int64
}

// sentBatch is a batch submission: the key of each item (transactionId of an adjustment, customerId
// of a customer) and what the client learned.
type sentBatch struct {
	typ     string
	keys    []string
	outcome outcome
	jobID   int64 // when acked
}

// record is everything the clients sent and learned.
type record struct {
	mu        sync.Mutex
	txns      map[string]txn     // every manual transaction sent, by transactionId
	singles   map[string]outcome // manual transactions sent singly
	customers map[string]outcome // customers upserted singly
	batches   []*sentBatch
}

func newRecord() *record {
	return &record{txns: map[string]txn{}, singles: map[string]outcome{}, customers: map[string]outcome{}}
}

// send sends one random request and records its outcome; it returns false once the server is gone.
func (rec *record) send(t *testing.T, c *client.Client, r *rand.Rand, id string, customers []string) bool {
	points := func() int64 {
		if r.IntN(5) == 0 {
			return -1 - r.Int64N(50)
		}
		return 1 + r.Int64N(100)
	}
	var err error
	var result outcome
	switch k := r.IntN(20); {
	case k < 9:
		tx := txn{customer: customers[r.IntN(len(customers))], points: points()}
		rec.note(func() { rec.txns[id] = tx })
		err = c.Do(context.Background(), "POST", "/transactions/manual",
			map[string]any{"customerId": tx.customer, "transactionId": id, "points": tx.points, "reason": "crash test"}, nil)
		result = outcomeOf(t, err)
		rec.note(func() { rec.singles[id] = result })
	case k < 13:
		err = c.Do(context.Background(), "POST", "/customers", map[string]any{"customerId": id, "email": id + "@example.com"}, nil)
		result = outcomeOf(t, err)
		rec.note(func() { rec.customers[id] = result })
	case k < 18:
		b := &sentBatch{typ: "balance-adjustment"}
		items := make([]map[string]any, 1+r.IntN(250)) // often several chunks, so that a kill may fall between them
		for i := range items {
			key := fmt.Sprintf("%s-%d", id, i)
			tx := txn{customer: customers[r.IntN(len(customers))], points: points()}
			if r.IntN(25) == 0 {
				tx.points = 0 // invalid: the item fails alone
			}
			rec.note(func() { rec.txns[key] = tx })
			items[i] = map[string]any{"customerId": tx.customer, "transactionId": key, "points": tx.points, "reason": "crash batch"}
			b.keys = append(b.keys, key)
		}
		err = rec.submit(t, c, b, items)
	default:
		b := &sentBatch{typ: "customers"}
		items := make([]map[string]any, 1+r.IntN(50))
		for i := range items {
			key := fmt.Sprintf("%s-%d", id, i)
			items[i] = map[string]any{"customerId": key}
			b.keys = append(b.keys, key)
		}
		err = rec.submit(t, c, b, items)
	}
	var apiErr *client.Error
	return err == nil || errors.As(err, &apiErr)
}

func (rec *record) submit(t *testing.T, c *client.Client, b *sentBatch, items []map[string]any) error {
	created, err := c.SubmitBatch(context.Background(), b.typ, items, "")
	b.outcome, b.jobID = outcomeOf(t, err), created.JobID
	rec.note(func() { rec.batches = append(rec.batches, b) })
	return err
}

func (rec *record) note(f func()) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	f()
}

// outcomeOf classifies the error of a request; a 5xx fails the test, as no request may cause one.
func outcomeOf(t *testing.T, err error) outcome {
	var apiErr *client.Error
	switch {
	case err == nil:
		return acked
	case errors.As(err, &apiErr) && apiErr.StatusCode < 500:
		return rejected
	case errors.As(err, &apiErr):
		t.Errorf("a request failed with a server error: %v", apiErr)
		return unknown
	}
	return unknown
}

// summary counts the requests sent by outcome, and fails the test when none was acknowledged, as
// it would then prove nothing.
func (rec *record) summary(t *testing.T) string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var n [3]int
	for _, o := range rec.singles {
		n[o]++
	}
	for _, o := range rec.customers {
		n[o]++
	}
	var items int
	for _, b := range rec.batches {
		n[b.outcome]++
		items += len(b.keys)
	}
	if n[acked] == 0 {
		t.Errorf("no request was acknowledged")
	}
	return fmt.Sprintf("%d requests acknowledged, %d rejected, %d unanswered, %d batches of %d items in all",
		n[acked], n[rejected], n[unknown], len(rec.batches), items)
}

// snapshot is what the database holds, read in one transaction.
type snapshot struct {
	txns      map[string][]txn // transactionId -> its rows
	customers map[string]bool
	lots      []lot
	jobs      map[int64]job
	items     map[string]item // by item key (transactionId or customerId)
}

type lot struct {
	customer                   string
	points, remaining, entries int64
}

type job struct {
	typ, status                    string
	total, finished, errs, stopped int
	items                          []item
}

type item struct {
	job    int64
	idx    int
	status string
}

func read(t *testing.T, db *store.DB, tenantID int64) snapshot {
	t.Helper()
	s := snapshot{txns: map[string][]txn{}, customers: map[string]bool{}, jobs: map[int64]job{}, items: map[string]item{}}
	requests := map[int64]string{} // by job: its items as stored, one per line
	results := map[item]string{}   // statuses of the processed items, by job and index
	ctx := context.Background()
	err := db.Read(ctx, func(tx *store.Tx) error {
		return errors.Join(
			scan(ctx, tx, `SELECT t.transaction_id, c.customer_id, t.points FROM point_transactions t
				JOIN customers c ON c.id = t.customer_ref WHERE t.tenant_id = ?`, []any{tenantID}, func(v []any) {
				id := *v[0].(*string)
				s.txns[id] = append(s.txns[id], txn{customer: *v[1].(*string), points: *v[2].(*int64)})
			}, new(string), new(string), new(int64)),
			scan(ctx, tx, `SELECT customer_id FROM customers WHERE tenant_id = ?`, []any{tenantID}, func(v []any) {
				s.customers[*v[0].(*string)] = true
			}, new(string)),
			scan(ctx, tx, `SELECT c.customer_id, l.points, l.remaining, COALESCE(e.sum, 0) FROM point_lots l
				JOIN customers c ON c.id = l.customer_ref
				LEFT JOIN (SELECT lot_ref, SUM(points) AS sum FROM point_entries GROUP BY lot_ref) e ON e.lot_ref = l.id
				WHERE c.tenant_id = ?`, []any{tenantID}, func(v []any) {
				s.lots = append(s.lots, lot{customer: *v[0].(*string), points: *v[1].(*int64), remaining: *v[2].(*int64), entries: *v[3].(*int64)})
			}, new(string), new(int64), new(int64), new(int64)),
			scan(ctx, tx, `SELECT id, type, status, total_count, finished_count, error_count, stopped_count
				FROM batch_jobs WHERE tenant_id = ?`, []any{tenantID}, func(v []any) {
				s.jobs[*v[0].(*int64)] = job{typ: *v[1].(*string), status: *v[2].(*string), total: *v[3].(*int),
					finished: *v[4].(*int), errs: *v[5].(*int), stopped: *v[6].(*int)}
			}, new(int64), new(string), new(string), new(int), new(int), new(int), new(int)),
			scan(ctx, tx, `SELECT r.job_id, r.items FROM batch_requests r JOIN batch_jobs j ON j.id = r.job_id
				WHERE j.tenant_id = ?`, []any{tenantID}, func(v []any) {
				requests[*v[0].(*int64)] = *v[1].(*string)
			}, new(int64), new(string)),
			scan(ctx, tx, `SELECT i.job_id, i.idx, i.status FROM batch_items i JOIN batch_jobs j ON j.id = i.job_id
				WHERE j.tenant_id = ?`, []any{tenantID}, func(v []any) {
				results[item{job: *v[0].(*int64), idx: *v[1].(*int)}] = *v[2].(*string)
			}, new(int64), new(int), new(string)),
		)
	})
	if err != nil {
		t.Fatalf("read the database: %v", err)
	}
	// Items are processed in index order: the first finished+failed have a result row, the others
	// none, and those are pending, or stopped when the job was.
	for jobID, lines := range requests {
		j := s.jobs[jobID]
		for idx, line := range strings.Split(lines, "\n") {
			it := item{job: jobID, idx: idx}
			status, processed := results[it]
			delete(results, it)
			switch {
			case processed != (idx < j.finished+j.errs):
				t.Errorf("job %d with %d items processed: item %d has a result: %v", jobID, j.finished+j.errs, idx, processed)
			case !processed && j.status == "stopped":
				status = "stopped"
			case !processed:
				status = "pending"
			}
			it.status = status
			var req struct{ CustomerID, TransactionID string }
			if err := json.Unmarshal([]byte(line), &req); err != nil {
				t.Errorf("batch item %d/%d holds no JSON object: %v", jobID, idx, err)
			}
			key := req.TransactionID
			if key == "" {
				key = req.CustomerID
			}
			if _, dup := s.items[key]; dup {
				t.Errorf("the item %s is stored twice", key)
			}
			s.items[key] = it
			j.items = append(j.items, it)
		}
		s.jobs[jobID] = j
	}
	for it := range results {
		t.Errorf("a result of job %d item %d has no submitted item", it.job, it.idx)
	}
	return s
}

// scan runs a query and calls row with the scanned destinations of each row.
func scan(ctx context.Context, tx *store.Tx, q string, args []any, row func([]any), dest ...any) error {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		row(dest)
	}
	return rows.Err()
}

// check compares the database with the record. final says every batch must have ended.
func (rec *record) check(t *testing.T, db *store.DB, tenantID int64, final bool) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	s := read(t, db, tenantID)

	// Single calls: acknowledged ones happened, rejected ones did not.
	for id, o := range rec.singles {
		if _, ok := s.txns[id]; (o == acked && !ok) || (o == rejected && ok) {
			t.Errorf("the transaction %s, %v, is present: %v", id, o, ok)
		}
	}
	for id, o := range rec.customers {
		if o == acked && !s.customers[id] {
			t.Errorf("the acknowledged customer %s is missing", id)
		}
	}

	// Every transaction stored is one that was sent, applied once, with the points sent.
	balance := map[string]int64{}
	for id, rows := range s.txns {
		sent, ok := rec.txns[id]
		if !ok {
			t.Errorf("the ledger holds the transaction %s, which nobody sent", id)
			continue
		}
		var sum int64
		for _, row := range rows {
			sum += row.points
		}
		if len(rows) != 1 || sum != sent.points || rows[0].customer != sent.customer {
			t.Errorf("the transaction %s was sent as %+v and stored as %+v", id, sent, rows)
		}
		balance[sent.customer] += sent.points
	}

	// The ledger adds up: each lot is the sum of its entries, each balance the sum of what was applied.
	held := map[string]int64{}
	for _, l := range s.lots {
		if l.remaining != l.entries || l.remaining < 0 || l.remaining > l.points {
			t.Errorf("a lot of %s holds %d of %d points, its entries sum to %d", l.customer, l.remaining, l.points, l.entries)
		}
		held[l.customer] += l.remaining
	}
	for customer, want := range balance {
		if held[customer] != want {
			t.Errorf("%s holds %d points; the transactions applied sum to %d", customer, held[customer], want)
		}
	}

	// Batches: an acknowledged one is stored whole, a rejected one not at all, an unanswered one
	// either; each item's effect is there exactly when the item succeeded.
	for _, b := range rec.batches {
		first, stored := s.items[b.keys[0]]
		switch {
		case b.outcome == acked && (!stored || first.job != b.jobID):
			t.Errorf("the acknowledged batch %d is not stored", b.jobID)
			continue
		case b.outcome == rejected && stored:
			t.Errorf("the rejected %s batch is stored as job %d", b.typ, first.job)
			continue
		case !stored:
			continue
		}
		j := s.jobs[first.job]
		if j.total != len(b.keys) || len(j.items) != len(b.keys) || j.typ != b.typ {
			t.Errorf("job %d: sent %d %s items, stored %d of %d (%s)", first.job, len(b.keys), b.typ, len(j.items), j.total, j.typ)
			continue
		}
		var wrong []string // one line per item, reported together: a broken job breaks many
		for i, key := range b.keys {
			it, ok := s.items[key]
			effect := s.customers[key]
			if b.typ == "balance-adjustment" {
				_, effect = s.txns[key]
			}
			switch {
			case !ok || it.job != first.job || it.idx != i:
				wrong = append(wrong, fmt.Sprintf("item %d (%s) is stored as %+v", i, key, it))
			case effect != (it.status == "succeeded"):
				wrong = append(wrong, fmt.Sprintf("item %d is %s, and its effect present: %v", i, it.status, effect))
			}
		}
		if len(wrong) > 0 {
			t.Errorf("job %d: %d of %d items are wrong, the first: %s", first.job, len(wrong), len(b.keys), wrong[0])
		}
	}
	for id, j := range s.jobs {
		counts := map[string]int{}
		for _, it := range j.items {
			counts[it.status]++
		}
		if counts["succeeded"] != j.finished || counts["failed"] != j.errs || counts["stopped"] != j.stopped {
			t.Errorf("job %d counts %d/%d/%d finished/failed/stopped; its items %v", id, j.finished, j.errs, j.stopped, counts)
		}
		ended := j.status == "completed" || j.status == "failed" || j.status == "stopped"
		if (ended && counts["pending"] > 0) || (final && !ended) {
			t.Errorf("job %d is %s with %d items pending", id, j.status, counts["pending"])
		}
	}
}

// waitBatchesEnded waits until every batch job has ended, and returns how many had not at first;
// jobs a kill interrupted resume once the queue rescues them.
func waitBatchesEnded(t *testing.T, db *store.DB) int {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	first := -1
	for {
		var open int
		err := db.Read(context.Background(), func(tx *store.Tx) error {
			return tx.QueryRow(context.Background(),
				`SELECT COUNT(*) FROM batch_jobs WHERE status NOT IN ('completed', 'failed', 'stopped')`).Scan(&open)
		})
		if err != nil {
			t.Fatal(err)
		}
		if first < 0 {
			first = open
		}
		if open == 0 {
			return first
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d batch jobs have not ended two minutes after the last restart", open)
		}
		time.Sleep(50 * time.Millisecond) // polls the condition; the queue's own timers decide when
	}
}
