package batch

import (
	"context"
	"encoding/json"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// Type is one kind of batch: the {type} of POST /batch/{type} and the engine operation that applies
// each of its items.
type Type struct {
	Name      string // as in the URL, e.g. "customers"
	Operation string // the label the job's status shows, e.g. "Customer Creation Batch Job"
	Message   string // the message of a successful item whose result has none
	apply     func(ctx context.Context, tx *store.Tx, tenantID int64, item json.RawMessage) (any, error)
	request   any
	// readsPoints reports whether the tenant's items of this type read their customers' points, so
	// that a chunk reads those ahead with its customers; nil means they do.
	readsPoints func(ctx context.Context, tx *store.Tx, tenantID int64) (bool, error)
}

// Of makes a batch type from the engine operation of the matching single endpoint: each item is
// decoded exactly like that endpoint's body and applied by the same operation, so a batch item and a
// single call follow one implementation of every rule.
func Of[Req, Res any](name, operation, message string, op engine.Op[Req, Res]) Type {
	return Type{
		Name: name, Operation: operation, Message: message,
		apply: func(ctx context.Context, tx *store.Tx, tenantID int64, item json.RawMessage) (any, error) {
			var req Req
			if err := loyalty.DecodeJSON(item, &req); err != nil {
				return nil, err
			}
			return op(ctx, tx, tenantID, &req)
		},
		request: struct {
			Body []Req `json:"body" doc:"The items, 1 to 1,000, each shaped as the single endpoint's body."`
		}{},
	}
}

// readingPoints returns the type with its items reading their customers' points when reads says so.
func (t Type) readingPoints(reads func(ctx context.Context, tx *store.Tx, tenantID int64) (bool, error)) Type {
	t.readsPoints = reads
	return t
}

// pointsRead reports whether the tenant's items of the type read their customers' points.
func (t Type) pointsRead(ctx context.Context, tx *store.Tx, tenantID int64) (bool, error) {
	if t.readsPoints == nil {
		return true, nil
	}
	return t.readsPoints(ctx, tx, tenantID)
}

// never is the readsPoints of types whose items never read a customer's points.
func never(context.Context, *store.Tx, int64) (bool, error) { return false, nil }

// Request returns a zero value of the type's request envelope, for the API description.
func (t Type) Request() any { return t.request }

// Types returns the batch types the engine supports. Wiring a type is one line naming its
// operation.
func Types(e *engine.Engine) []Type {
	return []Type{
		Of("customers", "Customer Creation Batch Job", "Customer saved", e.UpsertCustomer).readingPoints(never),
		Of("orders", "Track Orders Batch Job", "Order tracked", e.Order),
		Of("orders/transactions", "Order Transactions Batch Job", "Order found", byOrderID(e.OrderTransactions)),
		Of("balance-inquiry", "Balance Inquiry Batch Job", "Balance retrieved", e.BalanceInquiry),
		Of("balance-adjustment", "Balance Adjustment Batch Job", "Balance adjusted", e.Manual),
		Of("cashback", "Reward Cashback Batch Job", "Cashback rewarded", e.Cashback),
		Of("redeem", "Redeem Batch Job", "Points redeemed", e.Redeem),
		Of("events", "Send Events Batch Job", "Events tracked", e.TrackEvents).readingPoints(e.EventsAwardPoints),
	}
}

// orderTransactions is a succeeded item of the orders/transactions batch: the order's transactions,
// named by its orderId as the reference API does.
type orderTransactions struct {
	OrderID string `json:"orderId"`
	engine.OrderTransactionsResult
}

// byOrderID adapts the order-transactions operation to the items of its batch, which are orderId
// strings rather than request objects.
func byOrderID(op engine.Op[loyalty.OrderTransactionsRequest, engine.OrderTransactionsResult]) engine.Op[string, orderTransactions] {
	return func(ctx context.Context, tx *store.Tx, tenantID int64, orderID *string) (orderTransactions, error) {
		res, err := op(ctx, tx, tenantID, &loyalty.OrderTransactionsRequest{OrderID: *orderID})
		return orderTransactions{OrderID: *orderID, OrderTransactionsResult: res}, err
	}
}
