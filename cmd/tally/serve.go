package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tally-loyalty/tally/internal/app"
	"github.com/tally-loyalty/tally/internal/batch"
	"github.com/tally-loyalty/tally/internal/httpapi"
)

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("serve")
	db := dbFlag(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (use :8080 to listen on every interface)")
	logFormat := fs.String("log-format", "auto", "log format: auto (text on a terminal, else JSON), text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	maxBody := fs.Int64("max-body-bytes", httpapi.DefaultMaxBodyBytes, "largest request body accepted, in bytes")
	limits := rateLimitFlags(fs)
	shutdown := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on shutdown")
	var workers workersFlag
	fs.Var(&workers, "batch-workers",
		"batch jobs this process works on at once: auto (1 on SQLite, 4 on PostgreSQL), a number, or 0 to only accept batches and leave them to other processes on the same PostgreSQL")
	queueLimit := fs.Int("batch-queue-limit", batch.DefaultQueueLimit,
		"queued or running batch jobs a tenant may have before submissions are refused with 429")
	chunkSize := fs.Int("batch-chunk-size", batch.DefaultChunkSize,
		"batch items applied in one transaction: larger gives more items per second and, on SQLite, longer waits to accept a batch")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *queueLimit < 1 {
		return fmt.Errorf("--batch-queue-limit must be 1 or more")
	}
	log, err := newLogger(*logFormat, *logLevel)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, app.Config{DB: *db, Logger: log, MaxBodyBytes: *maxBody, ShutdownTimeout: *shutdown,
		RateLimits: *limits, BatchWorkers: workers.n, BatchQueueLimit: *queueLimit, BatchChunkSize: *chunkSize})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	base := "http://" + displayAddr(ln.Addr().String())
	tenant, keys, created, err := a.FirstTenant(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	if created {
		fmt.Fprintf(stdout, `Created the first tenant %q. Its keys are shown only now; keep them safe:

  apikey:    %s
  secretkey: %s

Try it:

  curl -s -X POST %s%s/customers -H 'apikey: %s' -H 'Content-Type: application/json' \
    -d '{"customerId":"cust-1","email":"ada@example.com","customerAttributes":{"displayName":"Ada"}}'
  curl -s %s%s/customers/cust-1 -H 'apikey: %s'

`, tenant.Name, keys.APIKey, keys.SecretKey, base, httpapi.BasePath, keys.APIKey, base, httpapi.BasePath, keys.APIKey)
	}
	log.Info("tally serving", "addr", ln.Addr().String(), "db", redactDSN(*db), "version", app.Version,
		"docs", base+"/docs")
	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("tally stopped")
	return nil
}

// displayAddr turns a listening address into one a browser or curl can reach.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || (host != "" && host != "::" && host != "0.0.0.0") {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// redactDSN hides a password in a postgres:// URL before it is logged.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return dsn
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return dsn
}

// workersFlag is --batch-workers: "auto" (the database's default), or a number of workers, 0 for
// none. n is what app.Config.BatchWorkers takes.
type workersFlag struct{ n int }

func (w *workersFlag) String() string {
	switch w.n {
	case 0:
		return "auto"
	case batch.NoWorkers:
		return "0"
	}
	return strconv.Itoa(w.n)
}

func (w *workersFlag) Set(v string) error {
	if v == "auto" {
		w.n = 0
		return nil
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < 0:
		return fmt.Errorf("must be auto or a number of workers, 0 or more")
	case n == 0:
		w.n = batch.NoWorkers
	default:
		w.n = n
	}
	return nil
}
