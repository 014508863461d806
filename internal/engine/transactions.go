package engine

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/money"
	"github.com/tally-loyalty/tally/internal/store"
)

// CashbackResult is the answer of POST /transactions/cashback.
type CashbackResult struct {
	CustomerID             string      `json:"customerId"`
	GameballTransactionID  int64       `json:"gameballTransactionId"`
	TransactionID          string      `json:"transactionId"`
	RewardAmount           json.Number `json:"rewardAmount" doc:"Money value of the points earned."`
	RewardEquivalentPoints int64       `json:"rewardEquivalentPoints" doc:"Points earned."`
	Credited
}

// Cashback earns the program's cashback on a payment, creating an unknown customer; the points are
// pending for the return window. 6001 when the program's cashback is disabled.
func (e *Engine) Cashback(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.CashbackRequest) (CashbackResult, error) {
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return CashbackResult{}, err
	}
	c, err := req.Parse(rules)
	if err != nil {
		return CashbackResult{}, err
	}
	if !rules.Cashback {
		return CashbackResult{}, loyalty.Errorf(loyalty.CodeCashbackDisabled, "cashback is disabled in the loyalty program")
	}
	points, err := rules.CashbackPoints("amount", c.Amount)
	if err != nil {
		return CashbackResult{}, err
	}
	value, err := rules.ValueOf(points)
	if err != nil {
		return CashbackResult{}, err
	}
	w, err := e.openEarner(ctx, tx, tenantID, c.CustomerID, c.TransactionID, rules, e.Now())
	if err != nil {
		return CashbackResult{}, err
	}
	if err := e.settle(ctx, tx, w); err != nil {
		return CashbackResult{}, err
	}
	t, err := e.credit(ctx, tx, w, credit{
		txn: store.Txn{TransactionID: c.TransactionID, Kind: loyalty.KindPaymentReward, Points: points, Amount: c.Amount,
			Time: store.Micros(c.Time)},
		window: c.ReturnWindow, expiry: rules.PointsExpiry,
	})
	if err != nil {
		return CashbackResult{}, err
	}
	return CashbackResult{CustomerID: c.CustomerID, GameballTransactionID: t.ID, TransactionID: c.TransactionID,
		RewardAmount: rules.Money(value), RewardEquivalentPoints: points, Credited: credited(&t, w.now)}, nil
}

// ManualResult is the answer of POST /transactions/manual.
type ManualResult struct {
	CustomerID            string      `json:"customerId"`
	GameballTransactionID int64       `json:"gameballTransactionId"`
	TransactionID         string      `json:"transactionId"`
	Points                int64       `json:"points" doc:"Points added (positive) or deducted (negative)."`
	Amount                json.Number `json:"amount" doc:"The amount asked for, or the money value of the points, with their sign."`
}

// Manual adds points (creating an unknown customer; available at once, expiring under the program or
// after expiryAfter days) or deducts them (7000 for an unknown customer; available points first,
// then pending ones, first to expire first; never below zero: 9008). Without a transactionId it
// makes one up.
func (e *Engine) Manual(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.ManualRequest) (ManualResult, error) {
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return ManualResult{}, err
	}
	m, err := req.Parse(rules)
	if err != nil {
		return ManualResult{}, err
	}
	if m.TransactionID == "" {
		m.TransactionID = newID(loyalty.GeneratedIDPrefix + "adj:")
	}
	now := e.Now()
	if m.Time.IsZero() {
		m.Time = now
	}
	if m.Amount == 0 {
		value, err := rules.ValueOf(abs(m.Points))
		if err != nil {
			return ManualResult{}, err
		}
		m.Amount = value
		if m.Points < 0 {
			m.Amount = -value
		}
	}
	txn := store.Txn{TransactionID: m.TransactionID, Amount: m.Amount, Reason: m.Reason, Username: m.Username, Time: store.Micros(m.Time)}
	var t store.Txn
	if m.Points > 0 {
		w, err := e.openEarner(ctx, tx, tenantID, m.CustomerID, m.TransactionID, rules, now)
		if err != nil {
			return ManualResult{}, err
		}
		if err := e.settle(ctx, tx, w); err != nil {
			return ManualResult{}, err
		}
		expiry := rules.PointsExpiry
		if m.Expiry > 0 {
			expiry = m.Expiry
		}
		txn.Kind, txn.Points = loyalty.KindManualAccumulation, m.Points
		if t, err = e.credit(ctx, tx, w, credit{txn: txn, expiry: expiry}); err != nil {
			return ManualResult{}, err
		}
	} else {
		w, err := e.openSpender(ctx, tx, tenantID, m.CustomerID, m.TransactionID, rules, now)
		if err != nil {
			return ManualResult{}, err
		}
		moves, short := w.take(-m.Points, w.spendable, w.pending)
		if short > 0 {
			return ManualResult{}, insufficient(-m.Points, w.freeIn(func(*store.Lot) bool { return true }))
		}
		if err := e.settle(ctx, tx, w); err != nil {
			return ManualResult{}, err
		}
		txn.Kind = loyalty.KindManualDeduction
		if t, err = e.spend(ctx, tx, w, txn, moves, nil); err != nil {
			return ManualResult{}, err
		}
	}
	return ManualResult{CustomerID: m.CustomerID, GameballTransactionID: t.ID, TransactionID: m.TransactionID,
		Points: t.Points, Amount: rules.Money(m.Amount)}, nil
}

func insufficient(needed, have int64) error {
	return loyalty.Errorf(loyalty.CodeInsufficient, "insufficient points: %d needed, %d can be used", needed, have)
}

// RedeemResult is the answer of POST /transactions/redeem.
type RedeemResult struct {
	CustomerID             string      `json:"customerId"`
	GameballTransactionID  string      `json:"gameballTransactionId"`
	TransactionID          string      `json:"transactionId"`
	RedeemAmount           json.Number `json:"redeemAmount" doc:"Money value of the points redeemed."`
	RedeemEquivalentPoints int64       `json:"redeemEquivalentPoints" doc:"Points redeemed."`
	Reason                 string      `json:"reason,omitempty"`
}

// Redeem spends points as a payment method: an amount of money (its worth in points, rounded down),
// a number of points, or the points of a hold. Available points are spent first to expire first; an
// unknown customer is 7000, too few points 9008, a hold that is not this customer's active hold 9006.
func (e *Engine) Redeem(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.RedeemRequest) (RedeemResult, error) {
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return RedeemResult{}, err
	}
	x, err := req.Parse(rules)
	if err != nil {
		return RedeemResult{}, err
	}
	w, err := e.openSpender(ctx, tx, tenantID, x.CustomerID, x.TransactionID, rules, e.Now())
	if err != nil {
		return RedeemResult{}, err
	}
	var moves []store.Move
	var hold *store.Hold
	var amount int64
	if x.HoldReference != "" {
		h, ok := w.hold(x.HoldReference)
		if !ok {
			return RedeemResult{}, holdNotFound(x.HoldReference)
		}
		moves, hold, amount = reservedMoves(h), &h, h.Amount
	} else {
		var short int64
		if moves, short = w.take(x.Points, w.spendable); short > 0 {
			return RedeemResult{}, insufficient(x.Points, w.freeIn(w.spendable))
		}
		if amount, err = rules.ValueOf(x.Points); err != nil {
			return RedeemResult{}, err
		}
	}
	if err := e.settle(ctx, tx, w); err != nil {
		return RedeemResult{}, err
	}
	t, err := e.spend(ctx, tx, w, store.Txn{TransactionID: x.TransactionID, Kind: loyalty.KindRedemption, Amount: amount,
		Reason: x.Reason, Time: store.Micros(x.Time)}, moves, hold)
	if err != nil {
		return RedeemResult{}, err
	}
	return RedeemResult{CustomerID: x.CustomerID, GameballTransactionID: strconv.FormatInt(t.ID, 10),
		TransactionID: x.TransactionID, RedeemAmount: rules.Money(amount), RedeemEquivalentPoints: -t.Points, Reason: x.Reason}, nil
}

// RefundResult is the answer of POST /transactions/refund.
type RefundResult struct {
	GameballTransactionID  string      `json:"gameballTransactionId"`
	RefundTransactionID    string      `json:"refundTransactionId"`
	RefundAmount           json.Number `json:"refundAmount"`
	RefundEquivalentPoints int64       `json:"refundEquivalentPoints" doc:"Points the refund moved: pointsTakenBack + pointsReturned."`
	PointsTakenBack        int64       `json:"pointsTakenBack" doc:"Earned points taken back; fewer than due when the customer no longer has them."`
	PointsReturned         int64       `json:"pointsReturned" doc:"Redeemed points given back."`
}

// Refund refunds all or part of an order, a cashback or a redemption. It takes back the points the
// transaction earned and gives back the points it redeemed, each in proportion to the money
// refunded (rounded down, except that refunding the last of the money settles the rest exactly),
// so all its refunds together never take back more than was earned nor give back more than was
// spent. Earned points are taken from the transaction's own lot first, then from the customer's
// other available and pending points, never below zero. Given-back points are credited anew:
// available at once, expiring under the program.
func (e *Engine) Refund(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.RefundRequest) (RefundResult, error) {
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return RefundResult{}, err
	}
	x, err := req.Parse(rules)
	if err != nil {
		return RefundResult{}, err
	}
	w, err := e.openSpender(ctx, tx, tenantID, x.CustomerID, x.RefundTransactionID, rules, e.Now())
	if err != nil {
		return RefundResult{}, err
	}
	group, err := tx.TxnGroup(ctx, tenantID, x.ReverseTransactionID)
	if err != nil {
		return RefundResult{}, err
	}
	if len(group) == 0 || group[0].CustomerRef != w.customerRef {
		return RefundResult{}, loyalty.Errorf(loyalty.CodeReversedNotFound, "the customer has no transaction %q", x.ReverseTransactionID)
	}
	orig := group[0]
	switch {
	case orig.Kind != loyalty.KindPaymentReward && orig.Kind != loyalty.KindRedemption:
		return RefundResult{}, loyalty.Errorf(loyalty.CodeNotReversible, "a %s transaction cannot be refunded", orig.Kind)
	case orig.Refunded:
		return RefundResult{}, loyalty.Errorf(loyalty.CodeAlreadyRefunded, "transaction %q is already refunded in full", x.ReverseTransactionID)
	case orig.Currency != rules.Currency: // amounts of two currencies do not compare
		return RefundResult{}, loyalty.Errorf(loyalty.CodeNotReversible, "transaction %q is in %s, and the program now in %s",
			x.ReverseTransactionID, orig.Currency, rules.Currency)
	}
	before, after := orig.RefundedAmount, orig.Amount
	if !x.Full {
		if after = before + x.Amount; after > orig.Amount {
			return RefundResult{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "refundAmount", "must be at most %s, what is left to refund",
				moneyOf(orig.Currency, orig.Amount-before))
		}
	}
	done := after == orig.Amount
	var earned, redeemed int64
	var reward, redemption *store.Txn
	for i := range group {
		switch t := &group[i]; {
		case t.Kind == loyalty.KindPaymentReward:
			earned += t.Points
			reward = t
		case t.Kind == loyalty.KindRedemption:
			redeemed -= t.Points
			redemption = t
		}
	}
	takeBack, err := refundShare(earned, before, after, orig.Amount, done)
	if err != nil {
		return RefundResult{}, err
	}
	giveBack, err := refundShare(redeemed, before, after, orig.Amount, done)
	if err != nil {
		return RefundResult{}, err
	}
	ownLot := func(l *store.Lot) bool { return reward != nil && l.TransactionRef == reward.ID }
	moves, _ := w.take(takeBack, ownLot, w.spendable, w.pending) // what the customer no longer has is forgiven
	if err := e.settle(ctx, tx, w); err != nil {
		return RefundResult{}, err
	}
	kind := loyalty.KindPartialRefund
	if before == 0 && done {
		kind = loyalty.KindRefund
	}
	base := store.Txn{TransactionID: x.RefundTransactionID, Amount: after - before, Time: store.Micros(x.Time)}
	var rows []store.Txn
	if earned > 0 || redeemed == 0 {
		t := base
		t.Kind, t.Reverses = loyalty.KindCancel, orig.ID
		if reward != nil {
			t.Reverses = reward.ID
		}
		if earned == 0 {
			t.Kind = kind // nothing was earned or redeemed: the row only records the refund
		}
		if t, err = e.spend(ctx, tx, w, t, moves, nil); err != nil {
			return RefundResult{}, err
		}
		if t.Points < 0 {
			if err := tx.AddLifetimeEarned(ctx, w.customerRef, t.Points); err != nil {
				return RefundResult{}, err
			}
		}
		rows = append(rows, t)
	}
	if redeemed > 0 {
		t := base
		t.Seq, t.Kind, t.Points, t.Reverses = len(rows), kind, giveBack, redemption.ID
		if t, err = e.credit(ctx, tx, w, credit{txn: t, expiry: rules.PointsExpiry}); err != nil {
			return RefundResult{}, err
		}
		rows = append(rows, t)
	}
	if err := tx.SetRefunded(ctx, orig.ID, after, done); err != nil {
		return RefundResult{}, err
	}
	res := RefundResult{GameballTransactionID: strconv.FormatInt(rows[0].ID, 10), RefundTransactionID: x.RefundTransactionID,
		RefundAmount: moneyOf(orig.Currency, after-before)}
	for _, t := range rows {
		if t.Points < 0 {
			res.PointsTakenBack -= t.Points
		} else {
			res.PointsReturned += t.Points
		}
	}
	res.RefundEquivalentPoints = res.PointsTakenBack + res.PointsReturned
	return res, nil
}

// refundShare is the part of total that refunding the money from before to after, out of base,
// stands for: the difference of the cumulative shares at after and at before, rounded down, so
// that successive refunds add up to exactly total once everything is refunded (done).
func refundShare(total, before, after, base int64, done bool) (int64, error) {
	cumulative := func(refunded int64, done bool) (int64, error) {
		switch {
		case done:
			return total, nil
		case refunded == 0: // also when base is 0, where only a full refund exists
			return 0, nil
		}
		return money.Share(total, refunded, base)
	}
	from, err := cumulative(before, false)
	if err != nil {
		return 0, err
	}
	to, err := cumulative(after, done)
	return to - from, err
}

// ActivateResult is the answer of PUT /transactions/{transactionId}/activate.
type ActivateResult struct {
	PointsActivated       int64  `json:"pointsActivated" doc:"Pending points that became available."`
	GameballTransactionID int64  `json:"gameballTransactionId"`
	ClientTransactionID   string `json:"clientTransactionId"`
}

// Activate makes the pending points of a transaction available now, ahead of the return window;
// their expiry time stays. Activating points that are not pending changes nothing. An unknown
// transactionId is 9002.
func (e *Engine) Activate(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.ActivateRequest) (ActivateResult, error) {
	if err := loyalty.CheckID("transactionId", req.TransactionID); err != nil {
		return ActivateResult{}, err
	}
	rules, err := e.rules(ctx, tx, tenantID)
	if err != nil {
		return ActivateResult{}, err
	}
	group, err := tx.TxnGroup(ctx, tenantID, req.TransactionID)
	if err != nil {
		return ActivateResult{}, err
	}
	if len(group) == 0 {
		return ActivateResult{}, loyalty.Errorf(loyalty.CodeTransactionUnknown, "transaction %q not found", req.TransactionID)
	}
	if err := tx.LockCustomerRef(ctx, group[0].CustomerRef); err != nil {
		return ActivateResult{}, err
	}
	w, err := e.openWallet(ctx, tx, tenantID, group[0].CustomerRef, rules, e.Now())
	if err != nil {
		return ActivateResult{}, err
	}
	var txnIDs, lotIDs []int64
	for _, t := range group {
		if t.AvailableAt > w.now {
			txnIDs = append(txnIDs, t.ID)
		}
	}
	res := ActivateResult{GameballTransactionID: group[0].ID, ClientTransactionID: req.TransactionID}
	for _, l := range w.lots {
		if slices.Contains(txnIDs, l.TransactionRef) && !w.expired(l) {
			lotIDs = append(lotIDs, l.ID)
			res.PointsActivated += l.Remaining
		}
	}
	return res, tx.ActivateLots(ctx, lotIDs, txnIDs, w.now)
}

// TransactionView is one transaction as GET /transactions lists it.
type TransactionView struct {
	TransactionID         string      `json:"transactionId" doc:"Your id of the transaction; empty for expiries, which are Tally's own."`
	GameballTransactionID string      `json:"gameballTransactionId"`
	Type                  string      `json:"type"`
	Direction             string      `json:"direction" enum:"+,-"`
	CustomerID            string      `json:"customerId"`
	Points                int64       `json:"points" doc:"Points moved; direction says which way."`
	Amount                json.Number `json:"amount"`
	TransactionTime       time.Time   `json:"transactionTime"`
	Status                string      `json:"status" enum:"Active,Pending,Expired"`
	Reason                string      `json:"reason,omitempty"`
	AvailableAt           *time.Time  `json:"availableAt,omitempty" doc:"When credited points become available."`
	ExpiryDate            *time.Time  `json:"expiryDate,omitempty" doc:"When credited points expire."`
	CreatedAt             time.Time   `json:"createdAt" doc:"When Tally recorded the transaction."`
}

// TransactionPage is the answer of GET /transactions.
type TransactionPage struct {
	Transactions []TransactionView `json:"transactions"`
	Count        int               `json:"count" doc:"Transactions on this page."`
	HasMore      bool              `json:"hasMore"`
	NextCursor   string            `json:"nextCursor,omitempty" doc:"The startAfter of the next page."`
}

// Default and largest page of Transactions.
const (
	defaultPage = 50
	maxPage     = 200
)

// Transactions lists the tenant's transactions, oldest first, filtered by the query; an unknown
// customer is 7000.
func (e *Engine) Transactions(ctx context.Context, tx *store.Tx, tenantID int64, q *loyalty.TransactionQuery) (TransactionPage, error) {
	now := store.Micros(e.Now())
	f := store.TxnFilter{TenantID: tenantID, Kind: q.Type, Status: q.Status, Direction: q.Direction, Now: now, Limit: q.Limit}
	switch {
	case q.Type != "" && !slices.Contains(loyalty.Kinds, q.Type):
		return TransactionPage{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "type", "must be one of %v", loyalty.Kinds)
	case q.Status != "" && !store.StatusKnown(q.Status):
		return TransactionPage{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "status", "must be Active, Pending or Expired")
	case q.Direction != "" && q.Direction != "+" && q.Direction != "-":
		return TransactionPage{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "direction", "must be + or -")
	case q.Limit == 0:
		f.Limit = defaultPage
	case q.Limit < 0 || q.Limit > maxPage:
		return TransactionPage{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "limit", "must be from 1 to %d", maxPage)
	}
	for _, r := range []struct {
		field, v string
		dst      *int64
	}{{"from", q.From, &f.From}, {"to", q.To, &f.To}} {
		if r.v == "" {
			continue
		}
		t, err := loyalty.ParseTime(r.field, r.v)
		if err != nil {
			return TransactionPage{}, err
		}
		*r.dst = store.Micros(t)
	}
	if q.StartAfter != "" {
		n, err := strconv.ParseInt(q.StartAfter, 10, 64)
		if err != nil || n < 0 {
			return TransactionPage{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "startAfter", "must be a gameballTransactionId")
		}
		f.After = n
	}
	if q.CustomerID != "" {
		if err := loyalty.CheckID("customerId", q.CustomerID); err != nil {
			return TransactionPage{}, err
		}
		ref, err := lockCustomer(ctx, tx, tenantID, q.CustomerID)
		if err != nil {
			return TransactionPage{}, err
		}
		f.CustomerRef = ref
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	ts, err := tx.ListTxns(ctx, f)
	if err != nil {
		return TransactionPage{}, err
	}
	page := TransactionPage{Transactions: make([]TransactionView, 0, min(len(ts), limit))}
	if len(ts) > limit {
		ts, page.HasMore = ts[:limit], true
		page.NextCursor = strconv.FormatInt(ts[limit-1].ID, 10)
	}
	for _, t := range ts {
		v := TransactionView{TransactionID: t.TransactionID, GameballTransactionID: strconv.FormatInt(t.ID, 10), Type: t.Kind,
			Direction: direction(t.Points), CustomerID: t.CustomerID, Points: abs(t.Points), Amount: moneyOf(t.Currency, t.Amount),
			TransactionTime: store.FromMicros(t.Time), Status: t.Status(now), Reason: t.Reason, CreatedAt: store.FromMicros(t.CreatedAt)}
		if t.AvailableAt != 0 {
			at := store.FromMicros(t.AvailableAt)
			v.AvailableAt, v.ExpiryDate = &at, expiryTime(t.ExpiresAt)
		}
		page.Transactions = append(page.Transactions, v)
	}
	page.Count = len(page.Transactions)
	return page, nil
}
