// Package bench measures a Tally server through its HTTP API with the public client: how many batch
// items of each type it brings to a terminal state per second, how much faster one batch is than the
// same items as single calls, how long accepting a batch takes, and the server's peak memory.
//
// It starts the server itself (a child `tally serve`, or in this process) on a fresh database, or
// measures a running one. Customers are seeded first, as every other type names existing customers,
// and the data size changes the figures.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/bench/workload"
)

// Config configures a run. The zero values of the numbers mean the defaults below.
type Config struct {
	// DB is the database of the server the run starts: a SQLite file path or a postgres:// URL.
	// Empty means a fresh SQLite file in a temporary directory, removed afterwards.
	DB string
	// Server is the URL of a running server to measure instead, as the tenant whose keys are
	// APIKey and SecretKey. Its rate limits must allow the load, and its memory is not measured.
	Server, APIKey, SecretKey string
	// InProcess runs the server in this process instead of as a child `tally serve`. A CPU profile
	// needs it; the peak memory then includes the load generator's.
	InProcess bool
	// Executable is the tally binary a child server runs; empty means this process's own.
	Executable string
	// Types are the batch types to measure; empty means every type the server has.
	Types []string
	// Submitters submit batches at once, each keeping up to InFlight of them accepted and not yet
	// ended.
	Submitters, InFlight int
	// Duration is how long each type's throughput is measured.
	Duration time.Duration
	// BatchSize is the number of items of every batch.
	BatchSize int
	// Customers is the number of customers seeded before the measurements.
	Customers int
	// Singles is the number of items sent as single calls and as one batch to compare the two; 0
	// means BatchSize.
	Singles int
	// CPUProfile, when set, is the file that receives a CPU profile of the throughput phase of
	// the one type in Types; it needs InProcess.
	CPUProfile string
	// Progress receives a line as each step starts; nil discards them.
	Progress io.Writer
}

// Defaults of Config.
const (
	DefaultSubmitters = 4
	DefaultInFlight   = 2
	DefaultDuration   = 10 * time.Second
	DefaultBatchSize  = 1000
	DefaultCustomers  = 100_000
)

// speedupRuns is how many times the one batch of the comparison is timed; the median counts, as a
// single run varies with when the queue next looks for work.
const speedupRuns = 3

// Poll intervals of the job tracker: under load, where a poll costs the server as much as a few
// items, and when timing one batch.
const (
	loadPoll  = 50 * time.Millisecond
	batchPoll = 5 * time.Millisecond
)

func (cfg *Config) setDefaults() error {
	if cfg.Submitters <= 0 {
		cfg.Submitters = DefaultSubmitters
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = DefaultInFlight
	}
	if cfg.Duration <= 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Customers <= 0 {
		cfg.Customers = DefaultCustomers
	}
	if cfg.Singles <= 0 {
		cfg.Singles = cfg.BatchSize
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	switch {
	case cfg.Server != "" && (cfg.DB != "" || cfg.InProcess):
		return errors.New("bench: a server URL excludes a database and an in-process server")
	case cfg.Server != "" && (cfg.APIKey == "" || cfg.SecretKey == ""):
		return errors.New("bench: a server URL needs the tenant's API key and secret key")
	case cfg.CPUProfile != "" && (!cfg.InProcess || len(cfg.Types) != 1):
		return errors.New("bench: a CPU profile needs an in-process server and exactly one type")
	}
	for _, name := range cfg.Types {
		if _, ok := workload.Lookup(name); !ok {
			return fmt.Errorf("bench: unknown batch type %q", name)
		}
	}
	return nil
}

// Run measures a server as cfg says and returns the figures.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if cfg.Server == "" && cfg.DB == "" {
		dir, err := os.MkdirTemp("", "tally-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: temporary directory: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.DB = filepath.Join(dir, "tally.db")
	}
	srv, err := startServer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rep, runErr := measure(ctx, cfg, srv)
	if runErr == nil {
		rep.PeakRSSBytes, runErr = srv.peakRSS()
		rep.Machine.LoadAverageEnd = loadAverage()
	}
	return rep, errors.Join(runErr, srv.stop())
}

// runner drives one server.
type runner struct {
	cfg   Config
	srv   *server
	c     *client.Client
	src   *workload.Source
	seeds atomic.Uint64 // seeds of the generators handed out
}

// gen returns a generator of its own for one goroutine.
func (r *runner) gen() *workload.Gen { return r.src.Gen(r.seeds.Add(1)) }

func (r *runner) progress(format string, args ...any) {
	fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
}

// measure seeds the customers, then measures each type the server has.
func measure(ctx context.Context, cfg Config, srv *server) (*Report, error) {
	// The default transport keeps two idle connections per host: the submitters would open and
	// close connections all the time.
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Submitters + 2}}
	now := time.Now()
	r := &runner{cfg: cfg, srv: srv, c: client.New(srv.url, srv.apiKey, srv.secretKey).WithHTTPClient(hc),
		src: workload.NewSource("b"+strconv.FormatInt(now.UnixNano(), 36)+"-", cfg.Customers, now)}
	rep := &Report{Machine: readMachine(), Server: srv.mode, Database: srv.database, Types: []TypeResult{}, Settings: Settings{
		Submitters: cfg.Submitters, InFlight: cfg.InFlight, BatchSize: cfg.BatchSize,
		DurationSeconds: cfg.Duration.Seconds(), Customers: cfg.Customers, Singles: cfg.Singles}}
	routes, err := readRoutes(ctx, r.c)
	if err != nil {
		return nil, err
	}
	types, skipped := plan(cfg.Types, routes)
	rep.Skipped = skipped
	if !routes.batch(workload.Customers) {
		return rep, errors.New("bench: the server has no customers batch, so no customers can be seeded")
	}
	r.progress("seeding %d customers through the customers batch", cfg.Customers)
	seed, err := r.load(ctx, workload.Customers, cfg.Submitters, loadPoll,
		numbered(cfg.Customers, cfg.BatchSize, (*workload.Gen).SeedItem))
	if err != nil {
		return rep, fmt.Errorf("bench: seed customers: %w", err)
	}
	rep.Seed = &seed
	funded := false
	for _, t := range types {
		if t.Spends && !funded {
			r.progress("giving each seeded customer %d points through the balance-adjustment batch", workload.FundPoints)
			if _, err := r.load(ctx, workload.BalanceAdjustment, cfg.Submitters, loadPoll,
				numbered(cfg.Customers, cfg.BatchSize, (*workload.Gen).FundItem)); err != nil {
				return rep, fmt.Errorf("bench: fund customers: %w", err)
			}
			funded = true
		}
		res, err := r.measureType(ctx, t, routes.single(t))
		if err != nil {
			return rep, fmt.Errorf("bench: %s: %w", t.Name, err)
		}
		if res.PeakRSSBytes, err = srv.peakRSS(); err != nil {
			return rep, err
		}
		rep.Types = append(rep.Types, res)
	}
	return rep, nil
}

// plan returns the types to measure, in workload order, and those skipped with the reason.
func plan(names []string, routes routes) ([]workload.Type, []Skipped) {
	var types []workload.Type
	skipped := []Skipped{}
	for _, t := range workload.Types {
		switch {
		case len(names) > 0 && !slices.Contains(names, t.Name):
		case !routes.batch(t.Name):
			skipped = append(skipped, Skipped{Type: t.Name, Reason: "the server has no POST /batch/" + t.Name})
		case t.Spends && !routes.batch(workload.BalanceAdjustment):
			skipped = append(skipped, Skipped{Type: t.Name,
				Reason: "customers need points first and the server has no balance-adjustment batch to give them"})
		default:
			types = append(types, t)
		}
	}
	return types, skipped
}

// measureType measures the throughput of t, then compares single calls with one batch when the
// server has t's single endpoint. With a CPU profile it measures the throughput only.
func (r *runner) measureType(ctx context.Context, t workload.Type, hasSingle bool) (res TypeResult, err error) {
	res.Type = t.Name
	r.progress("%s: %d submitters for %s", t.Name, r.cfg.Submitters, r.cfg.Duration)
	if r.cfg.CPUProfile != "" {
		stop, err := startCPUProfile(r.cfg.CPUProfile)
		if err != nil {
			return res, err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	res.Throughput, err = r.load(ctx, t.Name, r.cfg.Submitters, loadPoll, r.timed(t, time.Now().Add(r.cfg.Duration)))
	if err != nil || r.cfg.CPUProfile != "" {
		return res, err
	}
	if !hasSingle {
		res.SpeedupSkipped = "the server has no " + t.Method + " " + t.Path
		return res, nil
	}
	r.progress("%s: %d items as single calls, then as one batch (%d times)", t.Name, r.cfg.Singles, speedupRuns)
	sp, err := r.speedup(ctx, t)
	res.Speedup = &sp
	return res, err
}

// startCPUProfile writes a CPU profile of this process to path until the returned function is
// called.
func startCPUProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(fmt.Errorf("bench: CPU profile: %w", err), f.Close())
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: CPU profile: %w", err)
		}
		return nil
	}, nil
}
