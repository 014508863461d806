package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

const customerColumns = `id, customer_id, email, mobile, guest, attributes, tags, created_at, updated_at`

func scanCustomer(row interface{ Scan(...any) error }) (loyalty.Customer, error) {
	var c loyalty.Customer
	var attrs, tags string
	var created, updated int64
	if err := row.Scan(&c.GameballID, &c.CustomerID, &c.Email, &c.Mobile, &c.Guest, &attrs, &tags, &created, &updated); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return c, fmt.Errorf("store: decode attributes of %q: %w", c.CustomerID, err)
	}
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return c, fmt.Errorf("store: decode tags of %q: %w", c.CustomerID, err)
	}
	c.CreatedAt, c.UpdatedAt = FromMicros(created), FromMicros(updated)
	return c, nil
}

// GetCustomer returns the tenant's customer, or ErrNotFound.
func (tx *Tx) GetCustomer(ctx context.Context, tenantID int64, customerID string) (loyalty.Customer, error) {
	c, err := scanCustomer(tx.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers
		WHERE tenant_id = ? AND customer_id = ?`+tx.ForUpdate(), tenantID, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: get customer: %w", err)
	}
	return c, nil
}

// SaveCustomer inserts c, or updates the row with its customerId, and returns its numeric id.
func (tx *Tx) SaveCustomer(ctx context.Context, tenantID int64, c loyalty.Customer, now time.Time) (int64, error) {
	attrs, err := json.Marshal(c.Attributes)
	if err != nil {
		return 0, fmt.Errorf("store: encode attributes: %w", err)
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	tags, err := json.Marshal(c.Tags)
	if err != nil {
		return 0, fmt.Errorf("store: encode tags: %w", err)
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO customers (tenant_id, customer_id, email, mobile, guest, attributes, tags, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, customer_id) DO UPDATE SET email = excluded.email, mobile = excluded.mobile,
			guest = excluded.guest, attributes = excluded.attributes, tags = excluded.tags, updated_at = excluded.updated_at
		RETURNING id`,
		tenantID, c.CustomerID, c.Email, c.Mobile, c.Guest, string(attrs), string(tags), Micros(now), Micros(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: save customer: %w", err)
	}
	return id, nil
}

// EnsureCustomer returns the id of the tenant's customer, creating a bare profile when there is none;
// earning operations create unknown customers this way. On PostgreSQL the row is locked for the
// rest of the transaction, so balance changes of one customer never interleave.
func (tx *Tx) EnsureCustomer(ctx context.Context, tenantID int64, customerID string, now time.Time) (int64, error) {
	id, err := tx.LockCustomer(ctx, tenantID, customerID)
	if !errors.Is(err, ErrNotFound) {
		return id, err
	}
	err = tx.QueryRow(ctx, `INSERT INTO customers (tenant_id, customer_id, created_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, customer_id) DO NOTHING RETURNING id`, tenantID, customerID, Micros(now), Micros(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) { // another transaction inserted it first
		return tx.LockCustomer(ctx, tenantID, customerID)
	}
	if err != nil {
		return 0, fmt.Errorf("store: create customer: %w", err)
	}
	return id, nil
}

// LockCustomer returns the numeric id of the tenant's customer, or ErrNotFound, and locks the row on
// PostgreSQL for the rest of the transaction.
func (tx *Tx) LockCustomer(ctx context.Context, tenantID int64, customerID string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM customers WHERE tenant_id = ? AND customer_id = ?`+tx.ForUpdate(),
		tenantID, customerID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: lock customer: %w", err)
	}
	return id, nil
}

// DeleteCustomer removes the tenant's customer; it reports ErrNotFound when there was none. Tables
// whose rows belong to one customer reference customers(id) ON DELETE CASCADE, so they go with it.
func (tx *Tx) DeleteCustomer(ctx context.Context, tenantID int64, customerID string) error {
	id, err := tx.LockCustomer(ctx, tenantID, customerID)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM customers WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete customer: %w", err)
	}
	return nil
}
