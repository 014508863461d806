package store

import (
	"context"
	"fmt"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// ListCustomers returns up to limit of the tenant's customers in customerId order, starting after
// the customerId afterID ("" for the first page). Paging by customerId follows the unique
// (tenant_id, customer_id) index, so every page costs the same however deep it is.
func (tx *Tx) ListCustomers(ctx context.Context, tenantID int64, afterID string, limit int) ([]loyalty.Customer, error) {
	rows, err := tx.Query(ctx, `SELECT `+customerColumns+` FROM customers
		WHERE tenant_id = ? AND customer_id > ? ORDER BY customer_id LIMIT ?`, tenantID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list customers: %w", err)
	}
	defer rows.Close()
	var cs []loyalty.Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list customers: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list customers: %w", err)
	}
	return cs, nil
}
