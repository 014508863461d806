package engine

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// Award credits points to the customer (created if unknown) as a lot that follows the program's
// pending and expiry rules, recorded under a new transaction of the given kind; a repeated
// TransactionID is a 9004 and changes nothing.
type Award struct {
	CustomerID    string
	Points        int64
	Kind          string // one of loyalty.EarningKinds
	TransactionID string
	Reason        string
	Pending       *bool // nil: program's return window applies
}

// AwardResult is what an Award credited: the points, the customer's numeric id, when the points
// become available and when they expire (nil: never).
type AwardResult struct {
	TransactionID string     `json:"transactionId"`
	Points        int64      `json:"points"`
	CustomerRef   int64      `json:"-"`
	AvailableAt   time.Time  `json:"availableAt"`
	ExpiresAt     *time.Time `json:"expiresAt,omitempty"`
}

func (a *Award) validate() error {
	err := loyalty.FirstError(loyalty.CheckID("customerId", a.CustomerID), loyalty.CheckID("transactionId", a.TransactionID),
		loyalty.CheckString("reason", a.Reason, loyalty.MaxShortString))
	switch {
	case err != nil:
		return err
	case a.Points < 1 || a.Points > loyalty.MaxPoints:
		return loyalty.FieldErrorf(loyalty.CodeInvalidValue, "points", "must be from 1 to %d", loyalty.MaxPoints)
	case !slices.Contains(loyalty.EarningKinds, a.Kind):
		return loyalty.FieldErrorf(loyalty.CodeInvalidValue, "kind", "must be one of %v, not %q", loyalty.EarningKinds, a.Kind)
	}
	return nil
}

// Award credits points as described on the type.
func (e *Engine) Award(ctx context.Context, tx *store.Tx, tenantID int64, a Award) (AwardResult, error) {
	if err := a.validate(); err != nil {
		return AwardResult{}, err
	}
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return AwardResult{}, err
	}
	w, err := e.openEarner(ctx, tx, tenantID, a.CustomerID, a.TransactionID, rules, e.Now())
	if err != nil {
		return AwardResult{}, err
	}
	window := rules.ReturnWindow
	if a.Pending != nil && !*a.Pending {
		window = 0
	}
	if err := e.settle(ctx, tx, w); err != nil {
		return AwardResult{}, err
	}
	t, err := e.credit(ctx, tx, w, credit{
		txn:    store.Txn{TransactionID: a.TransactionID, Kind: a.Kind, Points: a.Points, Reason: a.Reason, Time: w.now},
		window: window, expiry: rules.PointsExpiry,
	})
	if err != nil {
		return AwardResult{}, err
	}
	return AwardResult{TransactionID: a.TransactionID, Points: a.Points, CustomerRef: w.customerRef,
		AvailableAt: store.FromMicros(t.AvailableAt), ExpiresAt: expiryTime(t.ExpiresAt)}, nil
}

// credit describes points to credit: the transaction's own fields (TransactionID, Seq, Kind,
// Points, Amount, Reason, Username, Time, Reverses), how long the points stay pending and how long
// after they become available they expire (0: never).
type credit struct {
	txn    store.Txn
	window time.Duration
	expiry time.Duration
}

// credit is the one path by which points enter a wallet (awards, cashback, orders, manual additions,
// refunds giving redeemed points back): it records the transaction, a lot with the points and the
// entry that credits them, and counts earned points toward the customer's lifetime total. It
// returns the recorded transaction; a taken transactionId is a 9004.
func (e *Engine) credit(ctx context.Context, tx *store.Tx, w *wallet, c credit) (store.Txn, error) {
	t := c.txn
	t.TenantID, t.CustomerRef, t.Currency, t.CreatedAt = w.tenantID, w.customerRef, w.rules.Currency, w.now
	t.AvailableAt, t.ExpiresAt = w.now+c.window.Microseconds(), store.Never
	if c.expiry > 0 {
		t.ExpiresAt = t.AvailableAt + c.expiry.Microseconds()
	}
	err := tx.InsertTxn(ctx, &t)
	if errors.Is(err, store.ErrDuplicate) {
		return t, duplicate(t.TransactionID)
	}
	if err != nil || t.Points == 0 {
		return t, err
	}
	l := &store.Lot{CustomerRef: w.customerRef, TransactionRef: t.ID, Points: t.Points, AvailableAt: t.AvailableAt, ExpiresAt: t.ExpiresAt}
	if err := tx.InsertLot(ctx, l, w.now); err != nil {
		return t, err
	}
	// Keep the wallet in spending order for whatever the operation does next.
	i, _ := slices.BinarySearchFunc(w.lots, l, func(a, b *store.Lot) int {
		return cmp.Or(cmp.Compare(a.ExpiresAt, b.ExpiresAt), cmp.Compare(a.AvailableAt, b.AvailableAt), cmp.Compare(a.ID, b.ID))
	})
	w.lots = slices.Insert(w.lots, i, l)
	if slices.Contains(loyalty.EarningKinds, t.Kind) {
		return t, tx.AddLifetimeEarned(ctx, w.customerRef, t.Points)
	}
	return t, nil
}

// Credited says when points just credited can be spent and when they expire.
type Credited struct {
	Status      string     `json:"status" doc:"Pending while the points wait out the return window, then Active."`
	AvailableAt time.Time  `json:"availableAt" doc:"When the points can be spent."`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty" doc:"When the points expire; absent when they never do."`
}

func credited(t *store.Txn, now int64) Credited {
	return Credited{Status: t.Status(now), AvailableAt: store.FromMicros(t.AvailableAt), ExpiresAt: expiryTime(t.ExpiresAt)}
}
