package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tally-loyalty/tally/internal/bench"
	"github.com/tally-loyalty/tally/internal/pgtest"
)

// runBench measures a server: see package bench. Unlike the other commands it reads no TALLY_*
// variables, so that a shell set up for `tally serve` never points a benchmark at its database.
func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("bench")
	var cfg bench.Config
	fs.StringVar(&cfg.DB, "db", "",
		"database of the server the benchmark starts: a SQLite file or a postgres:// URL (default: a fresh SQLite file in a temporary directory)")
	pgLocal := fs.Bool("postgres-local", false,
		"start a throwaway PostgreSQL cluster from the machine's PostgreSQL binaries and benchmark on it")
	fs.StringVar(&cfg.Server, "server", "",
		"URL of a running server to benchmark instead (its rate limits must allow the load)")
	fs.StringVar(&cfg.APIKey, "apikey", "", "API key of the tenant to benchmark as, with --server")
	fs.StringVar(&cfg.SecretKey, "secretkey", "", "secret key of that tenant, with --server")
	fs.BoolVar(&cfg.InProcess, "in-process", false,
		"run the server in this process instead of as a child `tally serve` (peak memory then includes the load generator)")
	types := fs.String("types", "", "comma-separated batch types to measure (default: every type the server has)")
	fs.IntVar(&cfg.Submitters, "submitters", bench.DefaultSubmitters, "concurrent batch submitters")
	fs.IntVar(&cfg.InFlight, "in-flight", bench.DefaultInFlight, "batches each submitter keeps accepted and not yet ended")
	fs.DurationVar(&cfg.Duration, "duration", bench.DefaultDuration, "how long each type's throughput is measured")
	fs.IntVar(&cfg.BatchSize, "batch-size", bench.DefaultBatchSize, "items per batch")
	fs.IntVar(&cfg.Customers, "customers", bench.DefaultCustomers, "customers seeded before measuring")
	fs.IntVar(&cfg.Singles, "singles", bench.DefaultBatchSize, "items sent as single calls and as one batch to compare the two")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "",
		"write a CPU profile of the throughput of the one type in --types to this file (needs --in-process)")
	asJSON := fs.Bool("json", false, "print one JSON object with every figure instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench takes no arguments, got %q", fs.Args())
	}
	if *types != "" {
		cfg.Types = strings.Split(*types, ",")
	}
	cfg.Progress = os.Stderr
	if *pgLocal {
		if cfg.DB != "" || cfg.Server != "" {
			return errors.New("--postgres-local excludes --db and --server")
		}
		cluster, err := pgtest.Start()
		if err != nil {
			return err
		}
		defer cluster.Stop()
		if cfg.DB, err = cluster.CreateDatabase(ctx, "tally_bench"); err != nil {
			return err
		}
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteTable(stdout)
}
