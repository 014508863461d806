package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Batch job statuses. A job is queued until its first chunk runs, running until every item has a
// terminal state, and then completed, failed or stopped.
const (
	BatchQueued    = "queued"
	BatchRunning   = "running"
	BatchCompleted = "completed"
	BatchFailed    = "failed"
	BatchStopped   = "stopped"
)

// Batch item statuses: pending until processed, then one of the three terminal ones.
const (
	ItemPending   = "pending"
	ItemSucceeded = "succeeded"
	ItemFailed    = "failed"
	ItemStopped   = "stopped"
)

// BatchJob is one stored batch job.
type BatchJob struct {
	ID             int64
	TenantID       int64
	Type           string
	Status         string
	TotalCount     int
	FinishedCount  int // items that succeeded
	ErrorCount     int // items that failed
	StoppedCount   int // items never processed because the job was stopped
	IdempotencyKey string
	BodyHash       string
	RiverJobID     int64
	CreatedAt      time.Time
	StartedAt      *time.Time
	CompletedAt    *time.Time
}

// ProcessedCount is the number of items with a result; items are processed in index order, so it is
// also the index of the next item to process.
func (j BatchJob) ProcessedCount() int { return j.FinishedCount + j.ErrorCount }

// Ended reports whether the job has reached a final status.
func (j BatchJob) Ended() bool {
	return j.Status == BatchCompleted || j.Status == BatchFailed || j.Status == BatchStopped
}

// BatchItem is one item of a batch job.
type BatchItem struct {
	Index   int
	Status  string
	Request []byte // the item's JSON as submitted
	Result  []byte // the result object, nil while pending or stopped
}

const batchJobColumns = `id, tenant_id, type, status, total_count, finished_count, error_count, stopped_count,
	COALESCE(idempotency_key, ''), body_hash, COALESCE(river_job_id, 0), created_at, started_at, completed_at`

func scanBatchJob(row interface{ Scan(...any) error }) (BatchJob, error) {
	var j BatchJob
	var created int64
	var started, completed sql.NullInt64
	err := row.Scan(&j.ID, &j.TenantID, &j.Type, &j.Status, &j.TotalCount, &j.FinishedCount, &j.ErrorCount,
		&j.StoppedCount, &j.IdempotencyKey, &j.BodyHash, &j.RiverJobID, &created, &started, &completed)
	if err != nil {
		return j, err
	}
	j.CreatedAt = FromMicros(created)
	j.StartedAt = fromNullMicros(started)
	j.CompletedAt = fromNullMicros(completed)
	return j, nil
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := FromMicros(v.Int64)
	return &t
}

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return Micros(*t)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// BatchJobByIdempotencyKey returns the tenant's job submitted with key, or ErrNotFound.
func (tx *Tx) BatchJobByIdempotencyKey(ctx context.Context, tenantID int64, key string) (BatchJob, error) {
	j, err := scanBatchJob(tx.QueryRow(ctx, `SELECT `+batchJobColumns+` FROM batch_jobs
		WHERE tenant_id = ? AND idempotency_key = ?`, tenantID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("store: batch job by idempotency key: %w", err)
	}
	return j, nil
}

// CountUnfinishedBatchJobs returns how many of the tenant's jobs are queued or running.
func (tx *Tx) CountUnfinishedBatchJobs(ctx context.Context, tenantID int64) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM batch_jobs WHERE tenant_id = ? AND status IN (?, ?)`,
		tenantID, BatchQueued, BatchRunning).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count unfinished batch jobs: %w", err)
	}
	return n, nil
}

// InsertBatchJob stores a new queued job with its items (compact JSON, in index order) and returns
// its id. The items go in one row, one per line: a submission writes one row whatever its size.
func (tx *Tx) InsertBatchJob(ctx context.Context, j BatchJob, items []json.RawMessage) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO batch_jobs (tenant_id, type, status, total_count, idempotency_key,
		body_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		j.TenantID, j.Type, BatchQueued, len(items), nullString(j.IdempotencyKey), j.BodyHash, Micros(j.CreatedAt)).Scan(&id)
	if IsUniqueViolation(err) {
		// A concurrent submission with the same idempotency key committed first; run again to answer
		// with its job.
		return 0, fmt.Errorf("store: insert batch job: %w: %w", ErrConflict, err)
	}
	if err != nil {
		return 0, fmt.Errorf("store: insert batch job: %w", err)
	}
	var lines strings.Builder
	for i, item := range items {
		// Compact JSON holds no line break (one inside a string is escaped), so a line is an item.
		if bytes.IndexByte(item, '\n') >= 0 {
			return 0, fmt.Errorf("store: insert batch job: item %d is not compact JSON", i)
		}
		if i > 0 {
			lines.WriteByte('\n')
		}
		lines.Write(item)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO batch_requests (job_id, items) VALUES (?, ?)`, id, lines.String()); err != nil {
		return 0, fmt.Errorf("store: insert batch items: %w", err)
	}
	return id, nil
}

// BatchRequests returns the job's items as submitted, in index order, or ErrNotFound.
func (tx *Tx) BatchRequests(ctx context.Context, jobID int64) ([]json.RawMessage, error) {
	var lines []byte
	err := tx.QueryRow(ctx, `SELECT items FROM batch_requests WHERE job_id = ?`, jobID).Scan(&lines)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: items of batch %d: %w", jobID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: items of batch %d: %w", jobID, err)
	}
	if len(lines) == 0 {
		return nil, nil
	}
	split := bytes.Split(lines, []byte{'\n'})
	items := make([]json.RawMessage, len(split))
	for i, item := range split {
		items[i] = item
	}
	return items, nil
}

// placeholders returns n comma-separated rows of cols `?` placeholders: "(?, ?), (?, ?)".
func placeholders(n, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// SetBatchRiverJob records the queue job that processes the batch job.
func (tx *Tx) SetBatchRiverJob(ctx context.Context, jobID, riverJobID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE batch_jobs SET river_job_id = ? WHERE id = ?`, riverJobID, jobID); err != nil {
		return fmt.Errorf("store: set river job of batch %d: %w", jobID, err)
	}
	return nil
}

// GetBatchJob returns the tenant's job, or ErrNotFound (also for another tenant's job).
func (tx *Tx) GetBatchJob(ctx context.Context, tenantID, jobID int64) (BatchJob, error) {
	j, err := scanBatchJob(tx.QueryRow(ctx, `SELECT `+batchJobColumns+` FROM batch_jobs
		WHERE id = ? AND tenant_id = ?`+tx.ForUpdate(), jobID, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("store: get batch job %d: %w", jobID, err)
	}
	return j, nil
}

// LockBatchJob returns the job, whichever its tenant, locked on PostgreSQL until the transaction
// ends: the chunks of one job and a stop of it run one after the other.
func (tx *Tx) LockBatchJob(ctx context.Context, jobID int64) (BatchJob, error) {
	j, err := scanBatchJob(tx.QueryRow(ctx, `SELECT `+batchJobColumns+` FROM batch_jobs WHERE id = ?`+tx.ForUpdate(), jobID))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("store: lock batch job %d: %w", jobID, err)
	}
	return j, nil
}

// UpdateBatchJob stores the job's status, counters and times.
func (tx *Tx) UpdateBatchJob(ctx context.Context, j BatchJob) error {
	_, err := tx.Exec(ctx, `UPDATE batch_jobs SET status = ?, finished_count = ?, error_count = ?, stopped_count = ?,
		started_at = ?, completed_at = ? WHERE id = ?`,
		j.Status, j.FinishedCount, j.ErrorCount, j.StoppedCount, nullMicros(j.StartedAt), nullMicros(j.CompletedAt), j.ID)
	if err != nil {
		return fmt.Errorf("store: update batch job %d: %w", j.ID, err)
	}
	return nil
}

// InsertBatchResults stores the status and result of processed items.
func (tx *Tx) InsertBatchResults(ctx context.Context, jobID int64, items []BatchItem) error {
	args := make([]any, 0, 4*len(items))
	for _, it := range items {
		args = append(args, jobID, it.Index, it.Status, string(it.Result))
	}
	if err := tx.insertRows(ctx, `INSERT INTO batch_items (job_id, idx, status, result)`, 4, "", args); err != nil {
		return fmt.Errorf("store: save results of batch %d: %w", jobID, err)
	}
	return nil
}

// BatchResults returns up to limit processed items of the job after index afterIndex (-1 for the
// first page), in index order, with the given statuses (all of them when none is given), without
// their requests.
func (tx *Tx) BatchResults(ctx context.Context, jobID int64, afterIndex, limit int, statuses ...string) ([]BatchItem, error) {
	q := `SELECT idx, status, COALESCE(result, '') FROM batch_items WHERE job_id = ? AND idx > ?`
	args := []any{jobID, afterIndex}
	if len(statuses) > 0 {
		q += ` AND status IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(statuses)), ", ") + `)`
		for _, s := range statuses {
			args = append(args, s)
		}
	}
	rows, err := tx.Query(ctx, q+` ORDER BY idx LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: results of batch %d: %w", jobID, err)
	}
	defer rows.Close()
	var items []BatchItem
	for rows.Next() {
		var it BatchItem
		var result string
		if err := rows.Scan(&it.Index, &it.Status, &result); err != nil {
			return nil, fmt.Errorf("store: scan result of batch %d: %w", jobID, err)
		}
		it.Result = []byte(result)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: results of batch %d: %w", jobID, err)
	}
	return items, nil
}

// BatchJobFilter selects a page of a tenant's jobs, newest first.
type BatchJobFilter struct {
	Status   string // "" for any
	Type     string // "" for any
	BeforeID int64  // 0 for the first page
	Limit    int
}

// ListBatchJobs returns the tenant's jobs that match f, newest first.
func (tx *Tx) ListBatchJobs(ctx context.Context, tenantID int64, f BatchJobFilter) ([]BatchJob, error) {
	q := `SELECT ` + batchJobColumns + ` FROM batch_jobs WHERE tenant_id = ?`
	args := []any{tenantID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, f.Type)
	}
	if f.BeforeID > 0 {
		q += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	rows, err := tx.Query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: list batch jobs: %w", err)
	}
	defer rows.Close()
	var jobs []BatchJob
	for rows.Next() {
		j, err := scanBatchJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan batch job: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list batch jobs: %w", err)
	}
	return jobs, nil
}

// ErrLockTimeout is returned when rows stayed locked by other transactions for longer than the
// caller was prepared to wait; the transaction cannot go on.
var ErrLockTimeout = errors.New("store: rows locked by other transactions")

// customerLockWait bounds how long LockCustomerKeys waits.
const customerLockWait = "2s"

// LockCustomerKeys takes, on PostgreSQL, a lock on each of the tenant's customer ids, whether the
// customer exists yet or not, in one stable order, until the transaction ends. A batch chunk takes
// its customers' locks up front this way, so that two chunks touching the same customers, on one
// process or several, queue instead of deadlocking (as they would creating the same new customers
// in different orders). It waits at most two seconds, then fails with ErrLockTimeout. SQLite's
// single writer needs no locks.
func (tx *Tx) LockCustomerKeys(ctx context.Context, tenantID int64, ids []string) error {
	if tx.dialect != Postgres || len(ids) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id == "" {
			continue
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "tally-customer/%d/%s", tenantID, id)
		keys = append(keys, int64(h.Sum64()))
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+customerLockWait+`'`); err != nil {
		return fmt.Errorf("store: lock customers: %w", err)
	}
	// unnest yields the keys in array order, and the locks are taken row by row in that order.
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(k) FROM unnest(?::bigint[]) AS k`, keys)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
		return ErrLockTimeout
	}
	if err != nil {
		return fmt.Errorf("store: lock customers: %w", err)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = DEFAULT`); err != nil {
		return fmt.Errorf("store: lock customers: %w", err)
	}
	return nil
}

// Savepoints runs a series of steps in one transaction, each in its own savepoint, so that a step
// that fails is undone alone and the transaction stays usable (PostgreSQL otherwise refuses every
// later statement). Each step's rows are sent to the database before its savepoint is released,
// so that the rows of a failed step are undone with it. A step costs one statement besides its own:
// releasing the previous step's savepoint and taking the next one go together, and the last one is
// released by the commit.
type Savepoints struct {
	tx   *Tx
	open bool
}

// Savepoints starts a series of steps in the transaction.
func (tx *Tx) Savepoints() *Savepoints { return &Savepoints{tx: tx} }

// Run runs fn as the next step. When fn fails, what it wrote is rolled back, the transaction's unit
// forgets what it read, and fn's error is returned; when the rollback itself fails, the error wraps
// that failure only, so that no caller mistakes it for fn's own, possibly harmless, error.
func (s *Savepoints) Run(ctx context.Context, fn func() error) error {
	if err := s.tx.flush(ctx); err != nil {
		return err
	}
	q := `SAVEPOINT tally_step`
	if s.open {
		q = `RELEASE SAVEPOINT tally_step; SAVEPOINT tally_step`
	}
	if _, err := s.tx.rawExec(ctx, q); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	s.open = true
	err := fn()
	if err == nil {
		err = s.tx.flush(ctx)
	}
	if err != nil {
		if _, rbErr := s.tx.rawExec(ctx, `ROLLBACK TO SAVEPOINT tally_step`); rbErr != nil {
			return fmt.Errorf("store: rollback to savepoint after %v: %w", err, rbErr)
		}
		s.tx.unitOf().drop()
		return err
	}
	return nil
}

// LockQueueMigrations keeps several PostgreSQL processes that start together from migrating the job
// queue's tables at once; the lock ends with the transaction.
func (tx *Tx) LockQueueMigrations(ctx context.Context) error {
	if tx.dialect != Postgres {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7262560)`); err != nil {
		return fmt.Errorf("store: lock queue migrations: %w", err)
	}
	return nil
}
