package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// HoldView is a hold: the answer of POST /transactions/hold and GET /transactions/hold/{holdReference}.
type HoldView struct {
	CustomerID           string      `json:"customerId"`
	HoldReference        string      `json:"holdReference"`
	HoldAmount           json.Number `json:"holdAmount" doc:"Money value of the held points."`
	HoldEquivalentPoints int64       `json:"holdEquivalentPoints" doc:"Points held."`
	State                string      `json:"state" enum:"Active,Expired,Used,Released"`
	DateToExpire         time.Time   `json:"dateToExpire" doc:"When the hold lapses unless used or released."`
}

func holdView(h *store.Hold, now int64) HoldView {
	return HoldView{CustomerID: h.CustomerID, HoldReference: h.Reference, HoldAmount: moneyOf(h.Currency, h.Amount),
		HoldEquivalentPoints: h.Points, State: h.State(now), DateToExpire: store.FromMicros(h.ExpiresAt)}
}

// Hold reserves available points, first to expire first, for the program's hold lifetime: they stop
// counting as available, do not expire while held, and can be redeemed only through the hold's
// reference (by POST /transactions/redeem or an order). An unknown customer is 7000, too few
// available points 9008.
func (e *Engine) Hold(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.HoldRequest) (HoldView, error) {
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return HoldView{}, err
	}
	h, err := req.Parse(rules)
	if err != nil {
		return HoldView{}, err
	}
	value, err := rules.ValueOf(h.Points)
	if err != nil {
		return HoldView{}, err
	}
	w, err := e.openSpender(ctx, tx, tenantID, h.CustomerID, "", rules, e.Now())
	if err != nil {
		return HoldView{}, err
	}
	moves, short := w.take(h.Points, w.spendable)
	if short > 0 {
		return HoldView{}, insufficient(h.Points, w.freeIn(w.spendable))
	}
	if err := e.settle(ctx, tx, w); err != nil {
		return HoldView{}, err
	}
	hold := store.Hold{TenantID: tenantID, CustomerRef: w.customerRef, CustomerID: h.CustomerID, Reference: newID("hold_"),
		Points: h.Points, Amount: value, Currency: rules.Currency, Allocation: make([]store.Move, len(moves)),
		CreatedAt: w.now, ExpiresAt: w.now + rules.HoldLifetime.Microseconds()}
	for i, m := range moves {
		hold.Allocation[i] = store.Move{Lot: m.Lot, Points: -m.Points}
	}
	if err := tx.InsertHold(ctx, &hold); err != nil {
		return HoldView{}, err
	}
	return holdView(&hold, w.now), nil
}

// GetHold returns a hold in whatever state it is; an unknown reference is 9006.
func (e *Engine) GetHold(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.HoldReferenceRequest) (HoldView, error) {
	h, err := findHold(ctx, tx, tenantID, req.HoldReference)
	if err != nil {
		return HoldView{}, err
	}
	return holdView(&h, store.Micros(e.Now())), nil
}

func findHold(ctx context.Context, tx *store.Tx, tenantID int64, reference string) (store.Hold, error) {
	if err := loyalty.CheckID("holdReference", reference); err != nil {
		return store.Hold{}, err
	}
	h, err := tx.HoldByReference(ctx, tenantID, reference)
	if errors.Is(err, store.ErrNotFound) {
		return h, loyalty.Errorf(loyalty.CodeHoldNotFound, "hold %q not found", reference)
	}
	return h, err
}

// ReleaseResult is the answer of DELETE /transactions/hold/{holdReference}.
type ReleaseResult struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
}

// ReleaseHold gives a hold's points back to the customer's available balance. A hold that is used,
// released, lapsed or unknown is 9006.
func (e *Engine) ReleaseHold(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.HoldReferenceRequest) (ReleaseResult, error) {
	h, err := findHold(ctx, tx, tenantID, req.HoldReference)
	if err != nil {
		return ReleaseResult{}, err
	}
	if err := tx.LockCustomerRef(ctx, h.CustomerRef); err != nil {
		return ReleaseResult{}, err
	}
	// Read again under the lock: a redemption may have used the hold meanwhile.
	if h, err = findHold(ctx, tx, tenantID, req.HoldReference); err != nil {
		return ReleaseResult{}, err
	}
	now := store.Micros(e.Now())
	if h.State(now) != loyalty.HoldActive {
		return ReleaseResult{}, loyalty.Errorf(loyalty.CodeHoldNotFound, "hold %q is %s, not active", req.HoldReference, h.State(now))
	}
	if err := tx.EndHold(ctx, h.ID, store.HoldStatusReleased, now, 0); err != nil {
		return ReleaseResult{}, err
	}
	return ReleaseResult{Success: true, Message: "hold released"}, nil
}
