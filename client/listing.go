package client

import (
	"context"
)

// CustomersPage is a page of the tenant's customers with their whole profiles, in customerId order.
type CustomersPage struct {
	Customers  []Customer `json:"customers"`
	HasMore    bool       `json:"hasMore"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

// ListCustomers returns a page of the tenant's customers with their whole profiles (needs the
// secret key). limit 0 means the server's default; startAfter is the previous page's NextCursor,
// empty for the first page.
func (c *Client) ListCustomers(ctx context.Context, limit int, startAfter string) (CustomersPage, error) {
	return get[CustomersPage](ctx, c, "/customers", pageQuery(nil, limit, startAfter))
}

// CustomerBalance is one customer's balance in a BalancesPage.
type CustomerBalance struct {
	CustomerID string `json:"customerId"`
	Balance
}

// BalancesPage is a page of the balances of the tenant's customers, in customerId order.
type BalancesPage struct {
	Balances   []CustomerBalance `json:"balances"`
	HasMore    bool              `json:"hasMore"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// ListBalances returns a page of the balances of all the tenant's customers (needs the secret
// key). limit 0 means the server's default; startAfter is the previous page's NextCursor, empty for
// the first page.
func (c *Client) ListBalances(ctx context.Context, limit int, startAfter string) (BalancesPage, error) {
	return get[BalancesPage](ctx, c, "/balances", pageQuery(nil, limit, startAfter))
}
