package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

const customerColumns = `id, customer_id, email, mobile, guest, attributes, tags, created_at, updated_at`

// customerRow is a customers row as read, its JSON columns not yet decoded: most operations only
// need the customer's id.
type customerRow struct {
	c           loyalty.Customer
	attrs, tags string
}

func scanCustomerRow(row interface{ Scan(...any) error }) (customerRow, error) {
	var r customerRow
	var created, updated int64
	err := row.Scan(&r.c.GameballID, &r.c.CustomerID, &r.c.Email, &r.c.Mobile, &r.c.Guest, &r.attrs, &r.tags, &created, &updated)
	r.c.CreatedAt, r.c.UpdatedAt = FromMicros(created), FromMicros(updated)
	return r, err
}

// decode fills in the customer's attributes and tags.
func (r customerRow) decode() (loyalty.Customer, error) {
	c := r.c
	if err := json.Unmarshal([]byte(r.attrs), &c.Attributes); err != nil {
		return c, fmt.Errorf("store: decode attributes of %q: %w", c.CustomerID, err)
	}
	if err := json.Unmarshal([]byte(r.tags), &c.Tags); err != nil {
		return c, fmt.Errorf("store: decode tags of %q: %w", c.CustomerID, err)
	}
	return c, nil
}

func scanCustomer(row interface{ Scan(...any) error }) (loyalty.Customer, error) {
	r, err := scanCustomerRow(row)
	if err != nil {
		return r.c, err
	}
	return r.decode()
}

// GetCustomer returns the tenant's customer, or ErrNotFound.
func (tx *Tx) GetCustomer(ctx context.Context, tenantID int64, customerID string) (loyalty.Customer, error) {
	st, err := tx.customer(ctx, tenantID, customerID)
	if err != nil {
		return loyalty.Customer{}, fmt.Errorf("store: get customer: %w", err)
	}
	if st == nil {
		return loyalty.Customer{}, ErrNotFound
	}
	if !st.decoded {
		if st.c, err = st.row().decode(); err != nil {
			return loyalty.Customer{}, err
		}
		st.decoded = true
	}
	return st.c, nil
}

// SaveCustomer inserts c, or updates the row with its customerId, and returns its numeric id. The
// profile's id and creation time are the stored ones; it is updated at now.
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
	st, err := tx.customerOrNew(ctx, tenantID, c.CustomerID, now)
	if err != nil {
		return 0, err
	}
	c.GameballID, c.CreatedAt, c.UpdatedAt = st.c.GameballID, st.c.CreatedAt, FromMicros(Micros(now))
	st.c, st.decoded, st.attrs, st.tags = c, true, string(attrs), string(tags)
	tx.unitOf().markCustomer(st)
	return c.GameballID, nil
}

// customerOrNew returns the state of the tenant's customer, making a bare profile created at now
// when there is none.
func (tx *Tx) customerOrNew(ctx context.Context, tenantID int64, customerID string, now time.Time) (*customerState, error) {
	st, err := tx.customer(ctx, tenantID, customerID)
	if err != nil || st != nil {
		return st, err
	}
	id, err := tx.newID(ctx, "customers")
	if err != nil {
		return nil, err
	}
	at := FromMicros(Micros(now))
	c := loyalty.Customer{GameballID: id, CustomerID: customerID, Tags: []string{}, CreatedAt: at, UpdatedAt: at}
	st = &customerState{tenantID: tenantID, c: c, decoded: true, attrs: "{}", tags: "[]"}
	u := tx.unitOf()
	u.customers[customerKey{tenantID, customerID}] = st
	// A new customer has no points yet: nothing to read.
	u.wallets[id] = &walletState{lotsLoaded: true, holdsLoaded: true, earnedKnown: true}
	u.markCustomer(st)
	return st, nil
}

// EnsureCustomer returns the id of the tenant's customer, creating a bare profile when there is none;
// earning operations create unknown customers this way. On PostgreSQL an existing row is locked for
// the rest of the transaction, so balance changes of one customer never interleave; a new one is
// inserted when the unit's rows are sent, and a concurrent transaction that inserts it first makes
// this one run again (ErrConflict).
func (tx *Tx) EnsureCustomer(ctx context.Context, tenantID int64, customerID string, now time.Time) (int64, error) {
	st, err := tx.customerOrNew(ctx, tenantID, customerID, now)
	if err != nil {
		return 0, err
	}
	return st.c.GameballID, nil
}

// LockCustomer returns the numeric id of the tenant's customer, or ErrNotFound, and locks the row on
// PostgreSQL for the rest of the transaction.
func (tx *Tx) LockCustomer(ctx context.Context, tenantID int64, customerID string) (int64, error) {
	st, err := tx.customer(ctx, tenantID, customerID)
	if err != nil {
		return 0, fmt.Errorf("store: lock customer: %w", err)
	}
	if st == nil {
		return 0, ErrNotFound
	}
	return st.c.GameballID, nil
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
