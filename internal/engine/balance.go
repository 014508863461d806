package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// BalanceResult is a customer's balance at the moment it is read: the reference API's
// CustomerBalanceResponse plus heldPoints. Total = available + pending + held.
type BalanceResult struct {
	TotalPointsBalance       int64       `json:"totalPointsBalance" doc:"All the customer's unexpired points: available, pending and held."`
	TotalPointsValue         json.Number `json:"totalPointsValue"`
	AvailablePointsBalance   int64       `json:"availablePointsBalance" doc:"Points that can be spent now: neither pending nor held."`
	AvailablePointsValue     json.Number `json:"availablePointsValue"`
	PendingPoints            int64       `json:"pendingPoints" doc:"Points waiting out the return window."`
	PendingPointsValue       json.Number `json:"pendingPointsValue"`
	HeldPoints               int64       `json:"heldPoints" doc:"Points reserved by active holds."`
	Currency                 string      `json:"currency"`
	PointsName               string      `json:"pointsName"`
	NextExpiringPointsAmount int64       `json:"nextExpiringPointsAmount" doc:"Points that expire next (0 when none will)."`
	NextExpiringPointsValue  json.Number `json:"nextExpiringPointsValue"`
	NextExpiringPointsDate   *time.Time  `json:"nextExpiringPointsDate" doc:"When they expire; null when no points will."`
	TotalEarnedPoints        int64       `json:"totalEarnedPoints" doc:"Points earned over the customer's lifetime, less what refunds took back."`
}

// Balance returns the customer's balance now; 7000 if unknown.
func (e *Engine) Balance(ctx context.Context, tx *store.Tx, tenantID int64, customerID string) (BalanceResult, error) {
	if err := loyalty.CheckID("customerId", customerID); err != nil {
		return BalanceResult{}, err
	}
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return BalanceResult{}, err
	}
	// The lock (on a PostgreSQL write transaction) keeps the lots and holds read below consistent with
	// each other; a read-only transaction reads one snapshot anyway.
	ref, err := lockCustomer(ctx, tx, tenantID, customerID)
	if err != nil {
		return BalanceResult{}, err
	}
	w, err := e.openWallet(ctx, tx, tenantID, ref, rules, e.Now())
	if err != nil {
		return BalanceResult{}, err
	}
	earned, err := tx.LifetimeEarned(ctx, ref)
	if err != nil {
		return BalanceResult{}, err
	}
	b := w.balances()
	res := BalanceResult{TotalPointsBalance: b.total, AvailablePointsBalance: b.available, PendingPoints: b.pending,
		HeldPoints: b.held, Currency: rules.Currency, PointsName: rules.PointsName,
		NextExpiringPointsAmount: b.nextExpiring, NextExpiringPointsDate: expiryTime(b.nextExpiry), TotalEarnedPoints: earned}
	values := []struct {
		points int64
		dst    *json.Number
	}{
		{b.total, &res.TotalPointsValue}, {b.available, &res.AvailablePointsValue},
		{b.pending, &res.PendingPointsValue}, {b.nextExpiring, &res.NextExpiringPointsValue},
	}
	for _, v := range values {
		minor, err := rules.ValueOf(v.points)
		if err != nil {
			return BalanceResult{}, err
		}
		*v.dst = rules.Money(minor)
	}
	return res, nil
}

// BalanceInquiry is Balance as an operation: GET /customers/{customerId}/balance and one item of the
// balance-inquiry batch.
func (e *Engine) BalanceInquiry(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.BalanceRequest) (BalanceResult, error) {
	return e.Balance(ctx, tx, tenantID, req.CustomerID)
}
