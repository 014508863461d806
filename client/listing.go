package client

import (
	"context"
	"net/http"
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
	var res CustomersPage
	err := c.Send(ctx, Request{Method: http.MethodGet, Path: "/customers", Query: pageQuery(nil, limit, startAfter)}, &res)
	return res, err
}
