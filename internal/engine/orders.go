package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/money"
	"github.com/tally-loyalty/tally/internal/store"
)

// OrderResult is the answer of POST /orders.
type OrderResult struct {
	CustomerID            string `json:"customerId"`
	OrderID               string `json:"orderId"`
	GameballTransactionID int64  `json:"gameballTransactionId" doc:"Tally's id of the order's reward transaction."`
	RewardedPoints        int64  `json:"rewardedPoints" doc:"Cashback points the order earned."`
	RedeemedPoints        int64  `json:"redeemedPoints" doc:"Held points the order redeemed."`
	Credited
}

// Order records an order: it creates an unknown customer, earns cashback points on totalPaid (pending
// for the return window), stores the line items and, with redemption.pointsHoldReference, redeems
// the points of that hold. The order's reward transaction takes the orderId as its transactionId.
func (e *Engine) Order(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.OrderRequest) (OrderResult, error) {
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return OrderResult{}, err
	}
	o, err := req.Parse(rules)
	if err != nil {
		return OrderResult{}, err
	}
	points, err := rules.CashbackPoints("totalPaid", o.TotalPaid)
	if err != nil {
		return OrderResult{}, err
	}
	lineItems, err := json.Marshal(nonNil(o.LineItems))
	if err != nil {
		return OrderResult{}, fmt.Errorf("engine: encode line items: %w", err)
	}
	extra, err := json.Marshal(nonNilMap(o.Extra))
	if err != nil {
		return OrderResult{}, fmt.Errorf("engine: encode extra: %w", err)
	}
	if o.HoldReference != "" {
		// Before anything is written: a customer that does not exist yet has no holds.
		if err := checkHoldOf(ctx, tx, tenantID, o.HoldReference, o.CustomerID, e.Now()); err != nil {
			return OrderResult{}, err
		}
	}
	w, err := e.openEarner(ctx, tx, tenantID, o.CustomerID, o.OrderID, rules, e.Now())
	if err != nil {
		return OrderResult{}, err
	}
	var hold store.Hold
	if o.HoldReference != "" {
		var ok bool
		if hold, ok = w.hold(o.HoldReference); !ok {
			return OrderResult{}, holdNotFound(o.HoldReference)
		}
	}
	if err := e.settle(ctx, tx, w); err != nil {
		return OrderResult{}, err
	}
	date := store.Micros(o.Date)
	reward, err := e.credit(ctx, tx, w, credit{
		txn:    store.Txn{TransactionID: o.OrderID, Kind: loyalty.KindPaymentReward, Points: points, Amount: o.TotalPaid, Time: date},
		window: o.ReturnWindow, expiry: rules.PointsExpiry,
	})
	if err != nil {
		return OrderResult{}, err
	}
	err = tx.InsertOrder(ctx, store.OrderRow{TenantID: tenantID, CustomerRef: w.customerRef, OrderID: o.OrderID,
		OrderDate: date, Currency: rules.Currency, TotalPaid: o.TotalPaid, TotalPrice: o.TotalPrice,
		TotalDiscount: o.TotalDiscount, TotalShipping: o.TotalShipping, TotalTax: o.TotalTax,
		LineItems: string(lineItems), Extra: string(extra), Channel: o.Channel, CartID: o.CartID, CreatedAt: w.now})
	if errors.Is(err, store.ErrDuplicate) {
		return OrderResult{}, loyalty.Errorf(loyalty.CodeDuplicate, "orderId %q already exists", o.OrderID)
	}
	if err != nil {
		return OrderResult{}, err
	}
	res := OrderResult{CustomerID: o.CustomerID, OrderID: o.OrderID, GameballTransactionID: reward.ID,
		RewardedPoints: points, Credited: credited(&reward, w.now)}
	if o.HoldReference != "" {
		_, err := e.spend(ctx, tx, w, store.Txn{TransactionID: o.OrderID, Seq: 1, Kind: loyalty.KindRedemption,
			Amount: hold.Amount, Time: date}, reservedMoves(hold), &hold)
		if err != nil {
			return OrderResult{}, err
		}
		res.RedeemedPoints = hold.Points
	}
	return res, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// checkHoldOf reports 9006 unless the tenant's hold with the reference belongs to the customer and
// is active now.
func checkHoldOf(ctx context.Context, tx *store.Tx, tenantID int64, reference, customerID string, now time.Time) error {
	h, err := tx.HoldByReference(ctx, tenantID, reference)
	if errors.Is(err, store.ErrNotFound) || err == nil && (h.CustomerID != customerID || h.State(store.Micros(now)) != loyalty.HoldActive) {
		return holdNotFound(reference)
	}
	return err
}

func holdNotFound(reference string) error {
	return loyalty.Errorf(loyalty.CodeHoldNotFound, "no active hold %q for this customer", reference)
}

// reservedMoves are the debits that spend exactly what the hold reserves.
func reservedMoves(h store.Hold) []store.Move {
	moves := make([]store.Move, len(h.Allocation))
	for i, m := range h.Allocation {
		moves[i] = store.Move{Lot: m.Lot, Points: -m.Points}
	}
	return moves
}

// spend records a transaction that takes points out of the wallet: t carries its own fields
// (TransactionID, Seq, Kind, Amount, Reason, Username, Time, Reverses); its points are what the
// moves take. It debits the lots and, when hold is given, marks the hold used by it. A taken
// transactionId is a 9004.
func (e *Engine) spend(ctx context.Context, tx *store.Tx, w *wallet, t store.Txn, moves []store.Move, hold *store.Hold) (store.Txn, error) {
	t.TenantID, t.CustomerRef, t.Currency, t.CreatedAt, t.Points = w.tenantID, w.customerRef, w.rules.Currency, w.now, 0
	for _, m := range moves {
		t.Points += m.Points
	}
	err := tx.InsertTxn(ctx, &t)
	if errors.Is(err, store.ErrDuplicate) {
		return t, duplicate(t.TransactionID)
	}
	if err != nil {
		return t, err
	}
	if err := e.debit(ctx, tx, w, t.ID, moves); err != nil {
		return t, err
	}
	if hold != nil {
		return t, tx.EndHold(ctx, hold.ID, store.HoldStatusUsed, w.now, t.ID)
	}
	return t, nil
}

// OrderTransaction is one transaction of an order.
type OrderTransaction struct {
	TransactionDate       time.Time   `json:"transactionDate"`
	GameballTransactionID int64       `json:"gameballTransactionId"`
	TransactionType       string      `json:"transactionType"`
	Amount                json.Number `json:"amount"`
	TransactionID         string      `json:"transactionId"`
	EquivalentPoints      int64       `json:"equivalentPoints" doc:"Points the transaction moved; direction says which way."`
	Direction             string      `json:"direction" enum:"+,-" doc:"+ when points were added, - when removed."`
}

// OrderTransactionsResult is the answer of GET /orders/{orderId}/transactions.
type OrderTransactionsResult struct {
	Transactions []OrderTransaction `json:"transactions"`
	Count        int                `json:"count"`
}

// OrderTransactions lists the transactions of an order: its reward and redemption, and the refunds,
// cancellations and expiries of their points. An unknown order is 4004.
func (e *Engine) OrderTransactions(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.OrderTransactionsRequest) (OrderTransactionsResult, error) {
	if err := loyalty.CheckID("orderId", req.OrderID); err != nil {
		return OrderTransactionsResult{}, err
	}
	ok, err := tx.OrderExists(ctx, tenantID, req.OrderID)
	if err != nil {
		return OrderTransactionsResult{}, err
	}
	if !ok {
		return OrderTransactionsResult{}, loyalty.Errorf(loyalty.CodeNotFound, "order %q not found", req.OrderID)
	}
	group, err := tx.TxnGroup(ctx, tenantID, req.OrderID)
	if err != nil {
		return OrderTransactionsResult{}, err
	}
	ids := make([]int64, len(group))
	for i, t := range group {
		ids[i] = t.ID
	}
	reversals, err := tx.TxnsReversing(ctx, ids)
	if err != nil {
		return OrderTransactionsResult{}, err
	}
	all := append(group, reversals...)
	slices.SortFunc(all, func(a, b store.Txn) int { return cmp.Compare(a.ID, b.ID) })
	res := OrderTransactionsResult{Transactions: make([]OrderTransaction, len(all)), Count: len(all)}
	for i, t := range all {
		res.Transactions[i] = OrderTransaction{TransactionDate: store.FromMicros(t.Time), GameballTransactionID: t.ID,
			TransactionType: t.Kind, Amount: moneyOf(t.Currency, t.Amount), TransactionID: t.TransactionID,
			EquivalentPoints: abs(t.Points), Direction: direction(t.Points)}
	}
	return res, nil
}

// moneyOf writes an amount recorded in a currency; a recorded currency is always one the program
// accepted.
func moneyOf(currency string, minor int64) json.Number {
	decimals, _ := money.MinorUnits(currency)
	return money.Number(minor, decimals)
}

func direction(points int64) string {
	if points < 0 {
		return "-"
	}
	return "+"
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
