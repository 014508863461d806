package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// CustomerAttributes are a customer's profile fields. On an update, fields left empty keep their
// stored value and keys of Custom are merged into the stored ones.
type CustomerAttributes struct {
	DisplayName       string                     `json:"displayName,omitempty"`
	FirstName         string                     `json:"firstName,omitempty"`
	LastName          string                     `json:"lastName,omitempty"`
	Email             string                     `json:"email,omitempty"`
	Gender            string                     `json:"gender,omitempty"`
	Mobile            string                     `json:"mobile,omitempty"`
	DateOfBirth       string                     `json:"dateOfBirth,omitempty"`
	JoinDate          string                     `json:"joinDate,omitempty"`
	Country           string                     `json:"country,omitempty"`
	City              string                     `json:"city,omitempty"`
	Zip               string                     `json:"zip,omitempty"`
	PreferredLanguage string                     `json:"preferredLanguage,omitempty"`
	Source            string                     `json:"source,omitempty"`
	Channel           string                     `json:"channel,omitempty"`
	LastOrderDate     string                     `json:"lastOrderDate,omitempty"`
	Utms              []json.RawMessage          `json:"utms,omitempty"`
	Devices           []json.RawMessage          `json:"devices,omitempty"`
	PaymentMethods    []string                   `json:"paymentMethods,omitempty"`
	TotalSpent        *json.Number               `json:"totalSpent,omitempty"`
	TotalOrders       *int64                     `json:"totalOrders,omitempty"`
	AvgOrderAmount    *json.Number               `json:"avgOrderAmount,omitempty"`
	Custom            map[string]json.RawMessage `json:"custom,omitempty"`
	// Tags, when not nil, replace the customer's tags: an empty, non-nil slice removes them all
	// (omitzero sends it, where omitempty would drop it), and nil keeps them.
	Tags []string `json:"tags,omitzero"`
}

// CustomerRequest creates or updates a customer.
type CustomerRequest struct {
	CustomerID         string              `json:"customerId"`
	Email              string              `json:"email,omitempty"`
	Mobile             string              `json:"mobile,omitempty"`
	Guest              *bool               `json:"guest,omitempty"`
	CustomerAttributes *CustomerAttributes `json:"customerAttributes,omitempty"`
}

// CustomerResult is the answer to a create-or-update.
type CustomerResult struct {
	GameballID int64  `json:"gameballId"`
	CustomerID string `json:"customerId"`
	Created    bool   `json:"created"`
}

// Customer is a customer as GET /customers/{customerId} shows it with the API key alone (no personal
// data), or, from CustomerDetails, the whole profile.
type Customer struct {
	GameballID         int64              `json:"gameballId"`
	CustomerID         string             `json:"customerId"`
	Email              string             `json:"email,omitempty"`
	Mobile             string             `json:"mobile,omitempty"`
	Guest              bool               `json:"guest"`
	CustomerAttributes CustomerAttributes `json:"customerAttributes"`
	CreatedAt          time.Time          `json:"createdAt"`
	UpdatedAt          time.Time          `json:"updatedAt"`
}

// Success is the answer of calls that return no object.
type Success struct {
	Success bool     `json:"success"`
	Message string   `json:"message,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// UpsertCustomer creates the customer or updates the fields the request sets.
func (c *Client) UpsertCustomer(ctx context.Context, req CustomerRequest) (CustomerResult, error) {
	return call[CustomerResult](ctx, c, http.MethodPost, "/customers", req)
}

// GetCustomer reads a customer without personal data.
func (c *Client) GetCustomer(ctx context.Context, customerID string) (Customer, error) {
	return call[Customer](ctx, c, http.MethodGet, "/customers/"+esc(customerID), nil)
}

// CustomerDetails reads a customer's whole profile (needs the secret key).
func (c *Client) CustomerDetails(ctx context.Context, customerID string) (Customer, error) {
	return call[Customer](ctx, c, http.MethodGet, "/customers/"+esc(customerID)+"/details", nil)
}

// DeleteCustomer deletes a customer and everything recorded about them.
func (c *Client) DeleteCustomer(ctx context.Context, customerID string) error {
	return c.Do(ctx, http.MethodDelete, "/customers/"+esc(customerID), nil, nil)
}

// AddTags attaches comma-separated tags to a customer and returns the tags it then has.
func (c *Client) AddTags(ctx context.Context, customerID, tags string) ([]string, error) {
	var res Success
	err := c.Do(ctx, http.MethodPost, "/customers/"+esc(customerID)+"/tags", map[string]string{"tags": tags}, &res)
	return res.Tags, err
}

// RemoveTags removes comma-separated tags from a customer and returns the tags it then has.
func (c *Client) RemoveTags(ctx context.Context, customerID, tags string) ([]string, error) {
	var res Success
	err := c.Do(ctx, http.MethodDelete, "/customers/"+esc(customerID)+"/tags", map[string]string{"tags": tags}, &res)
	return res.Tags, err
}
