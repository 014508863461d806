// Package apptest starts a real Tally (store, engine, HTTP server on a loopback port) for end-to-end
// tests, on SQLite or PostgreSQL, and hands out clients of fresh tenants.
package apptest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/app"
	"github.com/tally-loyalty/tally/internal/clock"
	"github.com/tally-loyalty/tally/internal/httpapi"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// Env is one running server.
type Env struct {
	App   *app.App
	URL   string
	Clock *clock.Fake
	// Logs is where the server logged, for tests that check what it wrote.
	Logs *SyncBuffer
}

// Options adjust the server a test starts.
type Options struct {
	MaxBodyBytes int64
	// RateLimits are off unless set, so that tests may call as fast as they like; the server's
	// rate limiter reads the test's fake clock.
	RateLimits httpapi.RateLimits
}

// Start runs a server on a fresh database of the dialect until the test ends.
func Start(t testing.TB, d store.Dialect, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	env := &Env{Clock: clock.NewFake(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)), Logs: &SyncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(io.MultiWriter(env.Logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, app.Config{DB: storetest.DSN(t, d), Logger: logger, Now: env.Clock.Now,
		MaxBodyBytes: o.MaxBodyBytes, RateLimits: o.RateLimits, ShutdownTimeout: 10 * time.Second})
	if err != nil {
		cancel()
		t.Fatalf("start app: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		a.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	env.App = a
	env.URL = "http://" + ln.Addr().String()
	return env
}

// Tenant is a tenant created for a test, with clients that authenticate as it.
type Tenant struct {
	Name      string
	ID        int64
	Keys      store.TenantKeys
	Client    *client.Client // API key and secret key
	PublicKey *client.Client // API key only
}

// NewTenant creates a tenant with fresh keys.
func (e *Env) NewTenant(t testing.TB, name string) Tenant {
	t.Helper()
	var tn Tenant
	err := e.App.DB.Write(context.Background(), func(tx *store.Tx) error {
		ten, k, err := tx.CreateTenant(context.Background(), name, e.Clock.Now())
		tn = Tenant{Name: name, ID: ten.ID, Keys: k}
		return err
	})
	if err != nil {
		t.Fatalf("create tenant %s: %v", name, err)
	}
	tn.Client = client.New(e.URL, tn.Keys.APIKey, tn.Keys.SecretKey)
	tn.PublicKey = client.New(e.URL, tn.Keys.APIKey, "")
	return tn
}
