package engine

import (
	"context"
	"errors"
	"slices"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// CustomerResult is the answer to a create-or-update: the reference API's gameballId plus Tally's
// additions.
type CustomerResult struct {
	GameballID int64  `json:"gameballId"`
	CustomerID string `json:"customerId"`
	Created    bool   `json:"created" doc:"True when this call created the customer."`
}

// UpsertCustomer creates the customer or updates the stored profile with the fields the request sets;
// customerAttributes.tags, when set, replace the customer's tags.
func (e *Engine) UpsertCustomer(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.CustomerRequest) (CustomerResult, error) {
	if err := req.Validate(); err != nil {
		return CustomerResult{}, err
	}
	c, err := tx.GetCustomer(ctx, tenantID, req.CustomerID)
	created := errors.Is(err, store.ErrNotFound)
	if err != nil && !created {
		return CustomerResult{}, err
	}
	c.CustomerID = req.CustomerID
	if req.Email != "" {
		c.Email = req.Email
	}
	if req.Mobile != "" {
		c.Mobile = req.Mobile
	}
	if req.Guest != nil {
		c.Guest = *req.Guest
	}
	if attrs := req.CustomerAttributes; attrs != nil && attrs.Tags != nil {
		c.Tags = attrs.Tags
	}
	c.Attributes = c.Attributes.Merge(req.CustomerAttributes)
	c.Attributes.Tags = nil // the tags are c.Tags, stored in a column of their own
	id, err := tx.SaveCustomer(ctx, tenantID, c, e.Now())
	if err != nil {
		return CustomerResult{}, err
	}
	return CustomerResult{GameballID: id, CustomerID: req.CustomerID, Created: created}, nil
}

// Customer returns the tenant's customer, or a 7000 error.
func (e *Engine) Customer(ctx context.Context, tx *store.Tx, tenantID int64, customerID string) (loyalty.Customer, error) {
	if err := loyalty.CheckID("customerId", customerID); err != nil {
		return loyalty.Customer{}, err
	}
	c, err := tx.GetCustomer(ctx, tenantID, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return c, customerNotFound(customerID)
	}
	return c, err
}

// DeleteCustomer removes the tenant's customer with everything recorded about them.
func (e *Engine) DeleteCustomer(ctx context.Context, tx *store.Tx, tenantID int64, customerID string) error {
	if err := loyalty.CheckID("customerId", customerID); err != nil {
		return err
	}
	err := tx.DeleteCustomer(ctx, tenantID, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return customerNotFound(customerID)
	}
	return err
}

// ChangeTags adds (add=true) or removes the comma-separated tags on the tenant's customer and
// returns the tags it has afterwards.
func (e *Engine) ChangeTags(ctx context.Context, tx *store.Tx, tenantID int64, customerID, list string, add bool) ([]string, error) {
	tags, err := loyalty.ParseTags("tags", list)
	if err != nil {
		return nil, err
	}
	c, err := e.Customer(ctx, tx, tenantID, customerID)
	if err != nil {
		return nil, err
	}
	kept := c.Tags[:0:0]
	for _, t := range c.Tags {
		if !slices.Contains(tags, t) {
			kept = append(kept, t)
		}
	}
	if add {
		kept = append(kept, tags...)
	}
	if len(kept) > loyalty.MaxTags {
		return nil, loyalty.FieldErrorf(loyalty.CodeLimitExceeded, "tags", "a customer holds at most %d tags", loyalty.MaxTags)
	}
	c.Tags = kept
	if _, err := tx.SaveCustomer(ctx, tenantID, c, e.Now()); err != nil {
		return nil, err
	}
	return kept, nil
}

func customerNotFound(customerID string) error {
	return loyalty.Errorf(loyalty.CodeCustomerNotFound, "customer %q not found", customerID)
}
