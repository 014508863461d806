// Package batch runs Tally's batch jobs: it accepts a batch (the job, its items and its queue job in
// one transaction), processes it on River workers in chunks, each chunk one transaction that applies
// its items through the engine and records their results and the job's progress, and serves the
// job's status, results and stop.
//
// Exactly once per item does not rest on the queue: a chunk locks its job row, reads how far the job
// has come and moves that mark in the same transaction as the items' effects. A queue job that runs
// twice, or a chunk retried after a crash, finds the done items already counted and skips them.
package batch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/store"
)

// DefaultWorkers is how many batch jobs a process works on at once unless configured: one on
// SQLite, whose single writer applies one chunk at a time whatever the number of workers, so that
// a submission waits for at most one chunk before it is stored (with four, accept p99 was 225–333
// ms against 47–73 ms with one, at the same throughput; BENCHMARKS.md); four on PostgreSQL, which
// applies chunks side by side.
func DefaultWorkers(d store.Dialect) int {
	if d == store.SQLite {
		return 1
	}
	return 4
}

// Defaults and limits of batch processing.
const (
	// MaxItems is the most items one batch may hold.
	MaxItems = 1000
	// NoWorkers as Config.Workers makes a process that accepts batches but leaves their processing
	// to the other processes sharing its PostgreSQL database.
	NoWorkers = -1
	// DefaultQueueLimit is how many unfinished jobs a tenant may have unless configured.
	DefaultQueueLimit = 50
	// RetryAfter is what a submission over the queue limit is told to wait.
	RetryAfter = 5 * time.Second
	// DefaultChunkSize is how many items one transaction applies unless configured. Larger chunks
	// spread each transaction's fixed costs (on SQLite chiefly the commit) over more items, but hold
	// SQLite's single writer longer, which a submission waits for: at 100,000 customers, one run
	// each, chunks of 250 gave 29–43% and chunks of 1,000 45–69% more orders and customers per
	// second than 100, with an accept p50 up to four times as long (BENCHMARKS.md).
	DefaultChunkSize = 100
)

// The queue's timing. A job starts no chunk after working for sliceTime, and waits at most two
// seconds for its customers' locks (store.LockCustomerKeys): then it hands its place back to the
// queue and resumes where it stopped. So a healthy job never reaches jobTimeout, which cancels an
// attempt (rolling back its chunk) and counts against its retries. River rescues a job left running
// by a dead process rescueAfter after its attempt began. A dead leader's lease outlives it by at
// least nine seconds and the rescuer runs as soon as a process takes the lead, so with rescueAfter
// below that, a batch interrupted by a crash resumes 15 to 30 seconds after the restart.
const (
	sliceTime   = 2 * time.Second
	jobTimeout  = 6 * time.Second
	rescueAfter = 8 * time.Second
	// pollInterval is how often idle workers look for new jobs, and so how long a new job may wait
	// (River adds up to 10 ms of jitter). Polling this often costs little: River fetches only while
	// a worker is free, so a busy process does not poll at all, and a fetch that finds nothing is
	// one indexed UPDATE that changes no row. On SQLite it takes the single writer connection for
	// about 0.1 ms (measured with River's fetch query over 5,000 finished jobs), writes nothing to
	// the WAL and syncs nothing: at 40 to 50 polls a second, well under 1% of the writer's time, and
	// at most one poll slips in between two chunks. On PostgreSQL it is one short round trip.
	pollInterval = 20 * time.Millisecond
	// fetchCooldown is the least time between two fetches, whatever asks for them: the poll, or a
	// worker freed while jobs were waiting. River refuses a poll interval shorter than it (its
	// default is 100 ms), and fetching at most as often as polling bounds the fetches of a busy
	// queue to the same rate.
	fetchCooldown = pollInterval
	// minChunkTime is how long a chunk works before it ends early for writes waiting for SQLite's
	// single writer (a submission, a single call): the wait for a chunk stays about this long
	// whatever the chunk size, and a chunk that nobody waits on runs whole.
	minChunkTime = 5 * time.Millisecond
)

// prefetchGroup is how many items a chunk reads ahead for at a time: one statement per table serves
// them all, and a chunk cut short after minChunkTime has not read for many items it leaves to the
// next.
const prefetchGroup = 100

// Config configures a Service.
type Config struct {
	DB     *store.DB
	Engine *engine.Engine
	Logger *slog.Logger
	// Workers is how many jobs this process works on at once: 0 means DefaultWorkers of the
	// database, NoWorkers none.
	Workers int
	// QueueLimit is how many queued or running jobs a tenant may have; past it a submission is
	// refused with 429. 0 means DefaultQueueLimit.
	QueueLimit int
	// ChunkSize is how many items one transaction applies, 1 to MaxItems: 0 means DefaultChunkSize.
	ChunkSize int
}

// Service accepts, processes and reports batch jobs.
type Service struct {
	cfg   Config
	db    *store.DB
	now   func() time.Time
	types map[string]Type
	list  []Type
	queue *river.Client[*sql.Tx]

	stopOnce sync.Once
	stopping chan struct{} // closed when Stop begins: workers end their slice after the current chunk
}

// New prepares the queue's tables and returns a Service; Start starts its workers.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers(cfg.DB.Dialect())
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = DefaultQueueLimit
	}
	switch {
	case cfg.ChunkSize == 0:
		cfg.ChunkSize = DefaultChunkSize
	case cfg.ChunkSize < 0 || cfg.ChunkSize > MaxItems:
		return nil, fmt.Errorf("batch: the chunk size must be from 1 to %d, not %d", MaxItems, cfg.ChunkSize)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, db: cfg.DB, now: cfg.Engine.Now, types: map[string]Type{}, stopping: make(chan struct{})}
	for _, t := range Types(cfg.Engine) {
		s.types[t.Name] = t
		s.list = append(s.list, t)
	}
	driver := queueDriver(cfg.DB)
	if err := migrateQueue(ctx, cfg.DB, driver, cfg.Logger); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{s: s}); err != nil {
		return nil, fmt.Errorf("batch: register worker: %w", err)
	}
	rc := &river.Config{
		Logger:               cfg.Logger,
		Workers:              workers,
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: rescueAfter,
		// SQLite has no LISTEN; River's emulation would poll the single write connection every 50 ms.
		// database/sql on PostgreSQL has none either. Polling serves both.
		PollOnly:          true,
		FetchPollInterval: pollInterval,
		FetchCooldown:     fetchCooldown,
	}
	if cfg.Workers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	}
	queue, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("batch: create queue client: %w", err)
	}
	s.queue = queue
	return s, nil
}

// queueDriver returns River's driver for the database. Both take the pool that write transactions
// use; on SQLite that is the single writer connection, which River then shares with the store.
func queueDriver(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect() == store.Postgres {
		return riverdatabasesql.New(db.SQL())
	}
	return riversqlite.New(db.SQL())
}

// migrateQueue brings River's tables up to date. Each of River's migrations needs its own
// transaction (some PostgreSQL ones use a type the one before creates), so on PostgreSQL a separate
// transaction holds a lock meanwhile, which keeps processes that start together from migrating at
// once. On SQLite that transaction would hold the single connection the migrations need; SQLite
// has one process anyway.
func migrateQueue(ctx context.Context, db *store.DB, driver riverdriver.Driver[*sql.Tx], log *slog.Logger) error {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("batch: queue migrator: %w", err)
	}
	migrate := func() error {
		_, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
		return err
	}
	if db.Dialect() == store.Postgres {
		err = db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.LockQueueMigrations(ctx); err != nil {
				return err
			}
			return migrate()
		})
	} else {
		err = migrate()
	}
	if err != nil {
		return fmt.Errorf("batch: migrate queue tables: %w", err)
	}
	return nil
}

// Types lists the batch types this server accepts.
func (s *Service) Types() []Type { return s.list }

// Start starts the workers, unless the process has none.
func (s *Service) Start(ctx context.Context) error {
	if s.cfg.Workers == NoWorkers {
		return nil
	}
	// The queue stops when Stop says so, not when the caller's context ends: Stop orders it.
	if err := s.queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("batch: start workers: %w", err)
	}
	return nil
}

// Stop stops the workers: each finishes the chunk it is applying (or, past ctx's deadline, has it
// rolled back) and its job goes back to the queue, to resume where it stopped.
func (s *Service) Stop(ctx context.Context) error {
	if s.cfg.Workers == NoWorkers {
		return nil
	}
	s.stopOnce.Do(func() { close(s.stopping) })
	err := s.queue.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = s.queue.StopAndCancel(hardCtx)
	}
	if err != nil {
		return fmt.Errorf("batch: stop workers: %w", err)
	}
	return nil
}
