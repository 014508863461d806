// Package app wires Tally together: the store, the engine and the HTTP server (and the batch workers
// that run beside it). The tally command and the end-to-end tests build the same App.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tally-loyalty/tally/internal/batch"
	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/httpapi"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// Version is the build's version, set with -ldflags "-X github.com/tally-loyalty/tally/internal/app.Version=...".
var Version = "dev"

// Config configures an App.
type Config struct {
	// DB is a SQLite file path or a postgres:// URL.
	DB           string
	Logger       *slog.Logger
	MaxBodyBytes int64
	// RateLimits limits requests per tenant and failed authentications per source; the zero value
	// limits nothing (tally serve applies httpapi.DefaultRateLimits unless told otherwise).
	RateLimits httpapi.RateLimits
	// Now is the clock; nil means the system clock. Tests move it instead of sleeping.
	Now func() time.Time
	// ShutdownTimeout bounds how long in-flight requests may take to finish on shutdown.
	ShutdownTimeout time.Duration
	// BatchWorkers is how many batch jobs this process works on at once: 0 means
	// batch.DefaultWorkers of the database, batch.NoWorkers none (the process only accepts batches).
	BatchWorkers int
	// BatchQueueLimit is how many queued or running batch jobs a tenant may have; 0 means
	// batch.DefaultQueueLimit.
	BatchQueueLimit int
	// BatchChunkSize is how many batch items one transaction applies; 0 means
	// batch.DefaultChunkSize.
	BatchChunkSize int
}

// App is a running Tally: database, engine, batch workers and HTTP API.
type App struct {
	cfg     Config
	DB      *store.DB
	Engine  *engine.Engine
	Batches *batch.Service
	HTTP    *httpapi.Server
	log     *slog.Logger
}

// Open opens the database (applying migrations) and builds the server.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	eng := engine.New(cfg.Now)
	batches, err := batch.New(ctx, batch.Config{DB: db, Engine: eng, Logger: cfg.Logger,
		Workers: cfg.BatchWorkers, QueueLimit: cfg.BatchQueueLimit, ChunkSize: cfg.BatchChunkSize})
	if err != nil {
		db.Close()
		return nil, err
	}
	srv, err := httpapi.New(httpapi.Config{DB: db, Engine: eng, Logger: cfg.Logger, MaxBodyBytes: cfg.MaxBodyBytes,
		RateLimits: cfg.RateLimits, Version: Version, Batches: batches})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &App{cfg: cfg, DB: db, Engine: eng, Batches: batches, HTTP: srv, log: cfg.Logger}, nil
}

// Close closes the database.
func (a *App) Close() error { return a.DB.Close() }

// Serve runs the batch workers and answers HTTP requests on ln until ctx is cancelled, then stops
// taking new requests and lets in-flight ones finish (within the shutdown timeout), then has each
// batch worker finish the chunk it is applying (within the timeout again, past which the chunk
// rolls back) and returns. A stopped job resumes where it stopped on the next start.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if err := a.Batches.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	err := a.serveHTTP(ctx, ln)
	// The workers stop after the HTTP server, so that no request waits on a stopped queue.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(err, a.Batches.Stop(stopCtx))
}

// serveHTTP serves ln until ctx is cancelled, then shuts the server down within the shutdown timeout.
func (a *App) serveHTTP(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.HTTP,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("app: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("app: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("app: serve: %w", err)
	}
	return nil
}

// FirstTenant creates a tenant named "default" when the database has none, and returns its keys;
// created is false when tenants already existed.
func (a *App) FirstTenant(ctx context.Context) (loyalty.Tenant, store.TenantKeys, bool, error) {
	var t loyalty.Tenant
	var k store.TenantKeys
	created := false
	err := a.DB.Write(ctx, func(tx *store.Tx) error {
		ts, err := tx.ListTenants(ctx)
		if err != nil || len(ts) > 0 {
			return err
		}
		t, k, err = tx.CreateTenant(ctx, "default", a.Engine.Now())
		created = err == nil
		return err
	})
	return t, k, created, err
}
