package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tally-loyalty/tally/internal/keys"
	"github.com/tally-loyalty/tally/internal/loyalty"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrTenantExists is returned when a tenant name is taken.
var ErrTenantExists = errors.New("store: tenant name already taken")

// TenantKeys are a tenant's keys in plain text: they exist only between creation and the caller
// that prints them.
type TenantKeys struct {
	APIKey    string `json:"apiKey"`
	SecretKey string `json:"secretKey"`
}

// TenantAuth is what authentication needs to know about the tenant an API key names.
type TenantAuth struct {
	Tenant        loyalty.Tenant
	SecretKeyHash string
}

// CreateTenant makes a tenant with fresh keys and returns the keys, which are stored only as hashes.
func (tx *Tx) CreateTenant(ctx context.Context, name string, now time.Time) (loyalty.Tenant, TenantKeys, error) {
	apiKey, err := keys.New(keys.APIKeyPrefix)
	if err != nil {
		return loyalty.Tenant{}, TenantKeys{}, err
	}
	secret, err := keys.New(keys.SecretKeyPrefix)
	if err != nil {
		return loyalty.Tenant{}, TenantKeys{}, err
	}
	t := loyalty.Tenant{Name: name, CreatedAt: FromMicros(Micros(now))}
	err = tx.QueryRow(ctx, `INSERT INTO tenants (name, api_key_hash, secret_key_hash, created_at)
		VALUES (?, ?, ?, ?) RETURNING id`, name, keys.Hash(apiKey), keys.Hash(secret), Micros(now)).Scan(&t.ID)
	if IsUniqueViolation(err) {
		return loyalty.Tenant{}, TenantKeys{}, fmt.Errorf("%w: %q", ErrTenantExists, name)
	}
	if err != nil {
		return loyalty.Tenant{}, TenantKeys{}, fmt.Errorf("store: insert tenant: %w", err)
	}
	return t, TenantKeys{APIKey: apiKey, SecretKey: secret}, nil
}

// RotateSecret gives the named tenant a new secret key; the old one stops working at once.
func (tx *Tx) RotateSecret(ctx context.Context, name string) (string, error) {
	secret, err := keys.New(keys.SecretKeyPrefix)
	if err != nil {
		return "", err
	}
	res, err := tx.Exec(ctx, `UPDATE tenants SET secret_key_hash = ? WHERE name = ?`, keys.Hash(secret), name)
	if err != nil {
		return "", fmt.Errorf("store: rotate secret: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return "", fmt.Errorf("store: rotate secret of %q: %w", name, ErrNotFound)
	}
	return secret, nil
}

// ListTenants returns every tenant by id.
func (tx *Tx) ListTenants(ctx context.Context) ([]loyalty.Tenant, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, created_at FROM tenants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list tenants: %w", err)
	}
	defer rows.Close()
	var ts []loyalty.Tenant
	for rows.Next() {
		var t loyalty.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &created); err != nil {
			return nil, fmt.Errorf("store: scan tenant: %w", err)
		}
		t.CreatedAt = FromMicros(created)
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tenants: %w", err)
	}
	return ts, nil
}

// TenantByAPIKey finds the tenant whose API key hashes to apiKeyHash.
func (tx *Tx) TenantByAPIKey(ctx context.Context, apiKeyHash string) (TenantAuth, error) {
	var a TenantAuth
	var created int64
	err := tx.QueryRow(ctx, `SELECT id, name, created_at, secret_key_hash FROM tenants WHERE api_key_hash = ?`,
		apiKeyHash).Scan(&a.Tenant.ID, &a.Tenant.Name, &created, &a.SecretKeyHash)
	if errors.Is(err, sql.ErrNoRows) {
		return TenantAuth{}, ErrNotFound
	}
	if err != nil {
		return TenantAuth{}, fmt.Errorf("store: tenant by key: %w", err)
	}
	a.Tenant.CreatedAt = FromMicros(created)
	return a, nil
}
