package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/keys"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/pgtest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T, d store.Dialect) (*store.DB, loyalty.Tenant, store.TenantKeys) {
	t.Helper()
	db := storetest.Open(t, d)
	var tenant loyalty.Tenant
	var k store.TenantKeys
	err := db.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		tenant, k, err = tx.CreateTenant(context.Background(), "acme", now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, tenant, k
}

// The conformance suite: every test runs on SQLite and on PostgreSQL.

func TestMigrationsAreIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dsn := storetest.DSN(t, d)
		for i := range 2 {
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatalf("open #%d: %v", i, err)
			}
			v, err := db.SchemaVersion(ctx)
			db.Close()
			ms, _ := store.Migrations()
			if err != nil || v != ms[len(ms)-1].Version {
				t.Fatalf("open #%d: version %d, %v; want %d", i, v, err, ms[len(ms)-1].Version)
			}
		}
	})
}

func TestTenants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, k := setup(t, d)
		t.Run("lookup by API key hash", func(t *testing.T) {
			err := db.Read(ctx, func(tx *store.Tx) error {
				a, err := tx.TenantByAPIKey(ctx, keys.Hash(k.APIKey))
				if err != nil {
					return err
				}
				if a.Tenant.ID != tenant.ID || a.Tenant.Name != "acme" || !keys.Matches(k.SecretKey, a.SecretKeyHash) {
					t.Errorf("got %+v", a)
				}
				if _, err := tx.TenantByAPIKey(ctx, keys.Hash("nope")); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("unknown key: %v, want ErrNotFound", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
		t.Run("duplicate name", func(t *testing.T) {
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, _, err := tx.CreateTenant(ctx, "acme", now)
				return err
			})
			if !errors.Is(err, store.ErrTenantExists) {
				t.Fatalf("got %v, want ErrTenantExists", err)
			}
		})
		t.Run("rotate secret", func(t *testing.T) {
			var secret string
			err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				secret, err = tx.RotateSecret(ctx, "acme")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Read(ctx, func(tx *store.Tx) error {
				a, err := tx.TenantByAPIKey(ctx, keys.Hash(k.APIKey))
				if keys.Matches(k.SecretKey, a.SecretKeyHash) || !keys.Matches(secret, a.SecretKeyHash) {
					t.Error("the old secret still matches or the new one does not")
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Write(ctx, func(tx *store.Tx) error { _, err := tx.RotateSecret(ctx, "nobody"); return err })
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("rotate unknown: %v", err)
			}
		})
	})
}

func TestCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, _ := setup(t, d)
		write := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Write(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		var firstID int64
		write(func(tx *store.Tx) error {
			id, err := tx.SaveCustomer(ctx, tenant.ID, loyalty.Customer{CustomerID: "c1", Email: "a@x.io",
				Attributes: loyalty.CustomerAttributes{DisplayName: "Ada"}, Tags: []string{"vip"}}, now)
			firstID = id
			return err
		})
		write(func(tx *store.Tx) error {
			id, err := tx.SaveCustomer(ctx, tenant.ID, loyalty.Customer{CustomerID: "c1", Email: "b@x.io"}, now.Add(time.Second))
			if id != firstID {
				t.Errorf("update: id %d, want %d", id, firstID)
			}
			return err
		})
		write(func(tx *store.Tx) error {
			c, err := tx.GetCustomer(ctx, tenant.ID, "c1")
			if err != nil {
				return err
			}
			if c.Email != "b@x.io" || c.GameballID != firstID || !c.CreatedAt.Equal(now) || !c.UpdatedAt.Equal(now.Add(time.Second)) {
				t.Errorf("got %+v", c)
			}
			return nil
		})
		t.Run("ensure creates once under concurrency", func(t *testing.T) {
			var wg sync.WaitGroup
			ids := make([]int64, 8)
			errs := make([]error, 8)
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = db.Write(ctx, func(tx *store.Tx) error {
						var err error
						ids[i], err = tx.EnsureCustomer(ctx, tenant.ID, "c2", now)
						return err
					})
				}()
			}
			wg.Wait()
			for i := range ids {
				if errs[i] != nil || ids[i] != ids[0] || ids[0] == 0 {
					t.Fatalf("ensure #%d: id %d err %v; first id %d", i, ids[i], errs[i], ids[0])
				}
			}
		})
		t.Run("other tenant sees nothing", func(t *testing.T) {
			err := db.Read(ctx, func(tx *store.Tx) error {
				_, err := tx.GetCustomer(ctx, tenant.ID+1, "c1")
				return err
			})
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		})
		t.Run("rollback leaves nothing", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.SaveCustomer(ctx, tenant.ID, loyalty.Customer{CustomerID: "ghost"}, now); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("got %v", err)
			}
			err = db.Read(ctx, func(tx *store.Tx) error { _, err := tx.GetCustomer(ctx, tenant.ID, "ghost"); return err })
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("rolled-back customer: %v", err)
			}
		})
		t.Run("delete", func(t *testing.T) {
			write(func(tx *store.Tx) error { return tx.DeleteCustomer(ctx, tenant.ID, "c1") })
			err := db.Write(ctx, func(tx *store.Tx) error { return tx.DeleteCustomer(ctx, tenant.ID, "c1") })
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("second delete: %v", err)
			}
		})
	})
}

func TestUniqueViolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, _ := setup(t, d)
		err := db.Write(ctx, func(tx *store.Tx) error {
			for range 2 {
				if _, err := tx.Exec(ctx, `INSERT INTO customers (tenant_id, customer_id, created_at, updated_at) VALUES (?, 'dup', 0, 0)`, tenant.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if !store.IsUniqueViolation(err) {
			t.Fatalf("got %v, want a unique violation", err)
		}
		if store.IsUniqueViolation(fmt.Errorf("other")) {
			t.Fatal("a plain error counted as a unique violation")
		}
	})
}

func TestRebind(t *testing.T) {
	cases := []struct{ in, pg string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
	}
	for _, c := range cases {
		if got := store.Postgres.Rebind(c.in); got != c.pg {
			t.Errorf("Rebind(%q) = %q, want %q", c.in, got, c.pg)
		}
		if got := store.SQLite.Rebind(c.in); got != c.in {
			t.Errorf("SQLite Rebind changed %q to %q", c.in, got)
		}
	}
}
