package loyalty

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"time"

	"github.com/tally-loyalty/tally/internal/money"
)

// Transaction kinds: the reference API's transaction types that Tally records.
const (
	KindPaymentReward      = "PaymentReward"      // cashback on an order or a payment
	KindAchievementReward  = "AchievementReward"  // points for an event
	KindManualAccumulation = "ManualAccumulation" // points added by hand
	KindManualReward       = "ManualReward"       // an achievement awarded by hand
	KindMigration          = "Migration"          // points carried over from another system
	KindManualDeduction    = "ManualDeduction"    // points removed by hand
	KindRedemption         = "Redemption"         // points spent as a payment method
	KindRefund             = "Refund"             // redeemed points given back by a full refund
	KindPartialRefund      = "PartialRefund"      // redeemed points given back by a partial refund
	KindCancel             = "Cancel"             // earned points taken back by a refund
	KindExpiry             = "Expiry"             // points that reached their expiry date
)

// Kinds are all the kinds, the values GET /transactions filters by.
var Kinds = []string{KindPaymentReward, KindAchievementReward, KindManualAccumulation, KindManualReward, KindMigration,
	KindManualDeduction, KindRedemption, KindRefund, KindPartialRefund, KindCancel, KindExpiry}

// EarningKinds are the kinds that credit points a customer earned: they count toward lifetime
// earned points, and Award accepts exactly these.
var EarningKinds = []string{KindPaymentReward, KindAchievementReward, KindManualAccumulation, KindManualReward, KindMigration}

// Transaction statuses, computed from the clock when read.
const (
	StatusActive  = "Active"  // applied; credited points can be spent
	StatusPending = "Pending" // credited points wait out the return window
	StatusExpired = "Expired" // credited points passed their expiry date
)

// Hold states, computed from the clock when read.
const (
	HoldActive   = "Active"
	HoldExpired  = "Expired" // lapsed unused; its points are free again
	HoldUsed     = "Used"
	HoldReleased = "Released"
)

// Codes of the transaction errors beyond the shared catalogue in errors.go.
const (
	CodeNotReversible    Code = 9000 // the transaction kind cannot be refunded
	CodeAlreadyRefunded  Code = 9001 // the transaction was already refunded in full
	CodeReversedNotFound Code = 9005 // a refund names a transaction the customer does not have
)

// Limits of points requests.
const (
	MaxReasonLength = 255  // reason of a transaction
	MaxLineItems    = 1000 // line items of one order or refund
	maxQuantity     = 1_000_000
)

// LineItem is one product of an order or of a refund. Money fields are in the program's currency.
type LineItem struct {
	ProductID  string                     `json:"productId,omitempty"`
	Quantity   json.Number                `json:"quantity,omitempty" doc:"Units of the product: a whole number; 1 when absent."`
	Price      *json.Number               `json:"price,omitempty" doc:"Price of one unit before tax and discount."`
	Sku        string                     `json:"sku,omitempty"`
	Tags       []string                   `json:"tags,omitempty"`
	Category   []string                   `json:"category,omitempty"`
	Weight     *json.Number               `json:"weight,omitempty"`
	Vendor     string                     `json:"vendor,omitempty"`
	Collection []string                   `json:"collection,omitempty"`
	Title      string                     `json:"title,omitempty"`
	Taxes      *json.Number               `json:"taxes,omitempty" doc:"Taxes on the whole line."`
	Discount   *json.Number               `json:"discount,omitempty" doc:"Discount on the whole line, as a positive amount."`
	Extra      map[string]json.RawMessage `json:"extra,omitempty"`
}

// paid checks the line item and returns what the customer paid for it: price × quantity + taxes −
// discount, never below zero.
func (li *LineItem) paid(prefix string, r Rules) (int64, error) {
	strs := []struct{ name, v string }{{"productId", li.ProductID}, {"sku", li.Sku}, {"vendor", li.Vendor}, {"title", li.Title}}
	for _, s := range strs {
		if err := CheckString(prefix+s.name, s.v, MaxShortString); err != nil {
			return 0, err
		}
	}
	lists := []struct {
		name string
		v    []string
	}{{"tags", li.Tags}, {"category", li.Category}, {"collection", li.Collection}}
	for _, l := range lists {
		if len(l.v) > MaxListItems {
			return 0, FieldErrorf(CodeInvalidValue, prefix+l.name, "must hold at most %d entries", MaxListItems)
		}
		for i, s := range l.v {
			if err := CheckString(fmt.Sprintf("%s%s[%d]", prefix, l.name, i), s, MaxShortString); err != nil {
				return 0, err
			}
		}
	}
	if err := checkExtra(prefix+"extra", li.Extra); err != nil {
		return 0, err
	}
	quantity := int64(1)
	if li.Quantity != "" {
		q, err := money.ParseMinor(li.Quantity.String(), 0)
		if err != nil || q < 0 || q > maxQuantity {
			return 0, FieldErrorf(CodeInvalidValue, prefix+"quantity", "must be a whole number from 0 to %d", maxQuantity)
		}
		quantity = q
	}
	var amounts [3]int64 // price, taxes, discount
	for i, a := range []struct {
		name string
		v    *json.Number
	}{{"price", li.Price}, {"taxes", li.Taxes}, {"discount", li.Discount}} {
		if a.v == nil {
			continue
		}
		v, err := r.NonNegativeAmount(prefix+a.name, *a.v)
		if err != nil {
			return 0, err
		}
		amounts[i] = v
	}
	hi, gross := bits.Mul64(uint64(amounts[0]), uint64(quantity))
	if hi != 0 || gross > money.MaxMinor {
		return 0, FieldErrorf(CodeInvalidValue, prefix+"price", "times quantity is out of range")
	}
	return max(0, int64(gross)+amounts[1]-amounts[2]), nil
}

// lineItemsPaid checks line items and returns the sum of what was paid for them.
func lineItemsPaid(field string, items []LineItem, r Rules) (int64, error) {
	if len(items) > MaxLineItems {
		return 0, FieldErrorf(CodeInvalidValue, field, "must hold at most %d items", MaxLineItems)
	}
	var sum int64
	for i := range items {
		v, err := items[i].paid(fmt.Sprintf("%s[%d].", field, i), r)
		if err != nil {
			return 0, err
		}
		sum += v // each at most MaxMinor, so a thousand of them cannot overflow
	}
	return sum, nil
}

// checkExtra bounds a free-form object of extra information like customerAttributes.custom.
func checkExtra(field string, extra map[string]json.RawMessage) error {
	if len(extra) > MaxCustomKeys {
		return FieldErrorf(CodeInvalidValue, field, "must hold at most %d keys", MaxCustomKeys)
	}
	size := 0
	for k, v := range extra {
		if k == "" || len(k) > MaxCustomKeyLength {
			return FieldErrorf(CodeInvalidValue, field, "keys must be 1 to %d bytes", MaxCustomKeyLength)
		}
		size += len(k) + len(v)
	}
	if size > MaxCustomBytes {
		return FieldErrorf(CodeInvalidValue, field, "must be at most %d bytes", MaxCustomBytes)
	}
	return nil
}

// CashbackConfigurations overrides the program's cashback settings for one transaction.
type CashbackConfigurations struct {
	ReturnWindow *int `json:"returnWindow,omitempty" doc:"Days the points stay pending (0 to 7300), instead of the program's return window."`
}

func (c *CashbackConfigurations) window(field string, r Rules) (time.Duration, error) {
	if c == nil || c.ReturnWindow == nil {
		return r.ReturnWindow, nil
	}
	if d := *c.ReturnWindow; d < 0 || d > MaxReturnWindowDays {
		return 0, FieldErrorf(CodeInvalidValue, field, "must be from 0 to %d", MaxReturnWindowDays)
	}
	return time.Duration(*c.ReturnWindow) * 24 * time.Hour, nil
}

// OrderRedemption spends held points on an order.
type OrderRedemption struct {
	PointsHoldReference string `json:"pointsHoldReference,omitempty" doc:"A hold from POST /transactions/hold, redeemed with the order."`
}

// OrderRequest is the body of POST /orders and one item of the orders batch.
type OrderRequest struct {
	CustomerID             string                     `json:"customerId"`
	OrderID                string                     `json:"orderId" doc:"Your unique id of the order; it is also the transactionId of the points it earns."`
	OrderDate              string                     `json:"orderDate" doc:"When the order was placed (RFC 3339, UTC)."`
	TotalPaid              json.Number                `json:"totalPaid" doc:"What the customer paid after discounts; cashback is earned on it."`
	TotalPrice             *json.Number               `json:"totalPrice,omitempty"`
	TotalDiscount          *json.Number               `json:"totalDiscount,omitempty"`
	TotalShipping          *json.Number               `json:"totalShipping,omitempty"`
	TotalTax               *json.Number               `json:"totalTax,omitempty"`
	LineItems              []LineItem                 `json:"lineItems,omitempty"`
	Redemption             *OrderRedemption           `json:"redemption,omitempty"`
	Extra                  map[string]json.RawMessage `json:"extra,omitempty"`
	Channel                string                     `json:"channel,omitempty" enum:"mobile,pos,web,callcenter"`
	CartID                 string                     `json:"cartId,omitempty"`
	CashbackConfigurations *CashbackConfigurations    `json:"cashbackConfigurations,omitempty"`
}

// Order is a checked OrderRequest with its amounts in minor units.
type Order struct {
	CustomerID, OrderID string
	Date                time.Time
	TotalPaid           int64
	// TotalPrice, TotalDiscount, TotalShipping and TotalTax are nil when not given.
	TotalPrice, TotalDiscount, TotalShipping, TotalTax *int64
	LineItems                                          []LineItem
	Extra                                              map[string]json.RawMessage
	Channel, CartID                                    string
	HoldReference                                      string
	ReturnWindow                                       time.Duration
}

// Parse checks the request under the program's rules.
func (r *OrderRequest) Parse(rules Rules) (Order, error) {
	o := Order{CustomerID: r.CustomerID, OrderID: r.OrderID, LineItems: r.LineItems, Extra: r.Extra,
		Channel: r.Channel, CartID: r.CartID}
	err := FirstError(CheckID("customerId", r.CustomerID), CheckNewTransactionID("orderId", r.OrderID),
		CheckString("cartId", r.CartID, MaxShortString), checkExtra("extra", r.Extra))
	if err != nil {
		return o, err
	}
	switch r.Channel {
	case "", "mobile", "pos", "web", "callcenter":
	default:
		return o, FieldErrorf(CodeInvalidValue, "channel", "must be one of mobile, pos, web, callcenter")
	}
	if o.Date, err = ParseTime("orderDate", r.OrderDate); err != nil {
		return o, err
	}
	if o.TotalPaid, err = rules.NonNegativeAmount("totalPaid", r.TotalPaid); err != nil {
		return o, err
	}
	totals := []struct {
		name string
		v    *json.Number
		dst  **int64
	}{
		{"totalPrice", r.TotalPrice, &o.TotalPrice}, {"totalDiscount", r.TotalDiscount, &o.TotalDiscount},
		{"totalShipping", r.TotalShipping, &o.TotalShipping}, {"totalTax", r.TotalTax, &o.TotalTax},
	}
	for _, t := range totals {
		if t.v == nil {
			continue
		}
		v, err := rules.NonNegativeAmount(t.name, *t.v)
		if err != nil {
			return o, err
		}
		*t.dst = &v
	}
	if _, err := lineItemsPaid("lineItems", r.LineItems, rules); err != nil {
		return o, err
	}
	if r.Redemption != nil && r.Redemption.PointsHoldReference != "" {
		o.HoldReference = r.Redemption.PointsHoldReference
		if err := CheckID("redemption.pointsHoldReference", o.HoldReference); err != nil {
			return o, err
		}
	}
	o.ReturnWindow, err = r.CashbackConfigurations.window("cashbackConfigurations.returnWindow", rules)
	return o, err
}

// CashbackRequest is the body of POST /transactions/cashback and one item of the cashback batch.
type CashbackRequest struct {
	CustomerID      string                  `json:"customerId"`
	TransactionID   string                  `json:"transactionId"`
	TransactionTime string                  `json:"transactionTime" doc:"When the payment happened (RFC 3339, UTC)."`
	Amount          json.Number             `json:"amount" doc:"What the customer paid; cashback is earned on it."`
	Configurations  *CashbackConfigurations `json:"configurations,omitempty"`
}

// Cashback is a checked CashbackRequest.
type Cashback struct {
	CustomerID, TransactionID string
	Time                      time.Time
	Amount                    int64
	ReturnWindow              time.Duration
}

// Parse checks the request under the program's rules.
func (r *CashbackRequest) Parse(rules Rules) (Cashback, error) {
	c := Cashback{CustomerID: r.CustomerID, TransactionID: r.TransactionID}
	err := FirstError(CheckID("customerId", r.CustomerID), CheckNewTransactionID("transactionId", r.TransactionID))
	if err != nil {
		return c, err
	}
	if c.Time, err = ParseTime("transactionTime", r.TransactionTime); err != nil {
		return c, err
	}
	if c.Amount, err = rules.NonNegativeAmount("amount", r.Amount); err != nil {
		return c, err
	}
	c.ReturnWindow, err = r.Configurations.window("configurations.returnWindow", rules)
	return c, err
}

// ManualRequest is the body of POST /transactions/manual and one item of the balance-adjustment
// batch: exactly one of Points and Amount, positive to add points, negative to deduct them.
type ManualRequest struct {
	CustomerID      string       `json:"customerId"`
	TransactionID   string       `json:"transactionId,omitempty" doc:"Your unique id of the adjustment; Tally makes one up when it is absent."`
	TransactionTime string       `json:"transactionTime,omitempty" doc:"When the adjustment happened (RFC 3339, UTC); now when absent."`
	Username        string       `json:"username,omitempty" doc:"Who made the adjustment."`
	Reason          string       `json:"reason,omitempty"`
	Points          *int64       `json:"points,omitempty" doc:"Points to add (positive) or deduct (negative)."`
	Amount          *json.Number `json:"amount,omitempty" doc:"Money whose worth in points (rounded down) is added (positive) or deducted (negative)."`
	ExpiryAfter     *int         `json:"expiryAfter,omitempty" doc:"Days after which added points expire, instead of the program's expiry; 0 or absent keeps the program's."`
}

// Manual is a checked ManualRequest: Points is signed.
type Manual struct {
	CustomerID, TransactionID, Username, Reason string
	Time                                        time.Time // zero when not given
	Points                                      int64
	// Amount is the money the request named (signed), or 0 when it named points.
	Amount int64
	// Expiry overrides the program's points expiry when positive.
	Expiry time.Duration
}

// Parse checks the request under the program's rules.
func (r *ManualRequest) Parse(rules Rules) (Manual, error) {
	m := Manual{CustomerID: r.CustomerID, TransactionID: r.TransactionID, Username: r.Username, Reason: r.Reason}
	err := FirstError(CheckID("customerId", r.CustomerID), CheckString("username", r.Username, MaxShortString),
		CheckString("reason", r.Reason, MaxReasonLength))
	if err == nil && r.TransactionID != "" {
		err = CheckNewTransactionID("transactionId", r.TransactionID)
	}
	if err != nil {
		return m, err
	}
	if r.TransactionTime != "" {
		if m.Time, err = ParseTime("transactionTime", r.TransactionTime); err != nil {
			return m, err
		}
	}
	// The reference API's messages for these four rules.
	switch {
	case r.Points != nil && r.Amount != nil:
		return m, Errorf(CodeInvalidValue, "Only one rewarding method may be specified")
	case r.Points == nil && r.Amount == nil:
		return m, Errorf(CodeMissingArguments, "A rewarding criteria is required")
	case r.ExpiryAfter != nil && *r.ExpiryAfter < 0:
		return m, FieldErrorf(CodeInvalidValue, "expiryAfter", "Expiry cannot be negative")
	}
	if r.Points != nil {
		m.Points = *r.Points
		if m.Points == 0 || m.Points > MaxPoints || m.Points < -MaxPoints {
			return m, FieldErrorf(CodeInvalidValue, "points", "must be a non-zero number of points from -%d to %d", MaxPoints, MaxPoints)
		}
	} else {
		if m.Amount, err = rules.Amount("amount", *r.Amount); err != nil {
			return m, err
		}
		if m.Points, err = rules.PointsFor("amount", abs(m.Amount)); err != nil {
			return m, err
		}
		if m.Amount < 0 {
			m.Points = -m.Points
		}
	}
	if r.ExpiryAfter != nil && *r.ExpiryAfter > 0 {
		if m.Points < 0 {
			return m, FieldErrorf(CodeInvalidValue, "expiryAfter", "Deduction cannot have expiry")
		}
		if *r.ExpiryAfter > MaxExpiryDays {
			return m, FieldErrorf(CodeInvalidValue, "expiryAfter", "must be at most %d", MaxExpiryDays)
		}
		m.Expiry = time.Duration(*r.ExpiryAfter) * 24 * time.Hour
	}
	return m, nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// HoldRequest is the body of POST /transactions/hold: exactly one of PointsToHold and AmountToHold.
type HoldRequest struct {
	CustomerID      string       `json:"customerId"`
	TransactionTime string       `json:"transactionTime" doc:"When the hold was asked for (RFC 3339, UTC)."`
	PointsToHold    *int64       `json:"pointsToHold,omitempty"`
	AmountToHold    *json.Number `json:"amountToHold,omitempty" doc:"Money whose worth in points (rounded down) is held."`
	RuleID          string       `json:"ruleId,omitempty" doc:"Not supported: Tally has no redemption rules."`
}

// HoldAsk is a checked HoldRequest.
type HoldAsk struct {
	CustomerID string
	Time       time.Time
	Points     int64
}

// Parse checks the request under the program's rules.
func (r *HoldRequest) Parse(rules Rules) (HoldAsk, error) {
	h := HoldAsk{CustomerID: r.CustomerID}
	err := CheckID("customerId", r.CustomerID)
	if err != nil {
		return h, err
	}
	if h.Time, err = ParseTime("transactionTime", r.TransactionTime); err != nil {
		return h, err
	}
	if r.RuleID != "" {
		return h, FieldErrorf(CodeInvalidValue, "ruleId", "redemption rules are not supported; give pointsToHold or amountToHold")
	}
	h.Points, err = pointsOrAmount(rules, "pointsToHold", r.PointsToHold, "amountToHold", r.AmountToHold)
	return h, err
}

// pointsOrAmount reads exactly one of a positive count of points and a positive amount of money
// worth at least one point.
func pointsOrAmount(rules Rules, pointsField string, points *int64, amountField string, amount *json.Number) (int64, error) {
	switch {
	case points != nil && amount != nil:
		return 0, Errorf(CodeInvalidValue, "give only one of %s and %s", pointsField, amountField)
	case points != nil:
		if *points < 1 || *points > MaxPoints {
			return 0, FieldErrorf(CodeInvalidValue, pointsField, "must be from 1 to %d", MaxPoints)
		}
		return *points, nil
	case amount != nil:
		a, err := rules.NonNegativeAmount(amountField, *amount)
		if err != nil {
			return 0, err
		}
		return rules.PointsFor(amountField, a)
	}
	return 0, Errorf(CodeMissingArguments, "one of %s and %s is required", pointsField, amountField)
}

// RedeemRequest is the body of POST /transactions/redeem and one item of the redeem batch: exactly
// one of Amount, Points and HoldReference.
type RedeemRequest struct {
	CustomerID      string       `json:"customerId"`
	TransactionID   string       `json:"transactionId"`
	TransactionTime string       `json:"transactionTime" doc:"When the redemption happened (RFC 3339, UTC)."`
	Amount          *json.Number `json:"amount,omitempty" doc:"Money to pay with points; its worth in points is rounded down."`
	Points          *int64       `json:"points,omitempty"`
	HoldReference   string       `json:"holdReference,omitempty" doc:"Redeem exactly the points of this hold."`
	Reason          string       `json:"reason,omitempty"`
}

// Redemption is a checked RedeemRequest: either Points or HoldReference is set.
type Redemption struct {
	CustomerID, TransactionID, HoldReference, Reason string
	Time                                             time.Time
	Points                                           int64
}

// Parse checks the request under the program's rules.
func (r *RedeemRequest) Parse(rules Rules) (Redemption, error) {
	x := Redemption{CustomerID: r.CustomerID, TransactionID: r.TransactionID, HoldReference: r.HoldReference, Reason: r.Reason}
	err := FirstError(CheckID("customerId", r.CustomerID), CheckNewTransactionID("transactionId", r.TransactionID),
		CheckString("reason", r.Reason, MaxReasonLength))
	if err != nil {
		return x, err
	}
	if x.Time, err = ParseTime("transactionTime", r.TransactionTime); err != nil {
		return x, err
	}
	if r.HoldReference != "" {
		if r.Points != nil || r.Amount != nil {
			return x, Errorf(CodeInvalidValue, "give only one of amount, points and holdReference")
		}
		return x, CheckID("holdReference", r.HoldReference)
	}
	if r.Points == nil && r.Amount == nil {
		return x, Errorf(CodeMissingArguments, "one of amount, points and holdReference is required")
	}
	x.Points, err = pointsOrAmount(rules, "points", r.Points, "amount", r.Amount)
	return x, err
}

// RefundRequest is the body of POST /transactions/refund. Without RefundAmount and LineItems it
// refunds all that is left of the transaction; with LineItems (and no RefundAmount) it refunds what
// was paid for them.
type RefundRequest struct {
	CustomerID           string       `json:"customerId"`
	RefundTransactionID  string       `json:"refundTransactionId" doc:"Your unique id of the refund."`
	ReverseTransactionID string       `json:"reverseTransactionId" doc:"The orderId or transactionId refunded."`
	TransactionTime      string       `json:"transactionTime" doc:"When the refund happened (RFC 3339, UTC)."`
	RefundAmount         *json.Number `json:"refundAmount,omitempty" doc:"Money refunded; all that is left when absent."`
	LineItems            []LineItem   `json:"lineItems,omitempty" doc:"Items refunded: price × quantity + taxes − discount of each, when refundAmount is absent."`
}

// Refund is a checked RefundRequest.
type Refund struct {
	CustomerID, RefundTransactionID, ReverseTransactionID string
	Time                                                  time.Time
	// Amount is the money refunded; Full means everything that is left.
	Amount int64
	Full   bool
}

// Parse checks the request under the program's rules.
func (r *RefundRequest) Parse(rules Rules) (Refund, error) {
	x := Refund{CustomerID: r.CustomerID, RefundTransactionID: r.RefundTransactionID, ReverseTransactionID: r.ReverseTransactionID}
	err := FirstError(CheckID("customerId", r.CustomerID), CheckID("refundTransactionId", r.RefundTransactionID),
		CheckID("reverseTransactionId", r.ReverseTransactionID))
	if err != nil {
		return x, err
	}
	if x.Time, err = ParseTime("transactionTime", r.TransactionTime); err != nil {
		return x, err
	}
	lines, err := lineItemsPaid("lineItems", r.LineItems, rules)
	switch {
	case err != nil:
		return x, err
	case r.RefundAmount != nil:
		if x.Amount, err = rules.NonNegativeAmount("refundAmount", *r.RefundAmount); err == nil && x.Amount == 0 {
			err = FieldErrorf(CodeInvalidValue, "refundAmount", "must be positive")
		}
	case len(r.LineItems) > 0:
		x.Amount = lines
		if x.Amount == 0 {
			err = FieldErrorf(CodeInvalidValue, "lineItems", "were paid nothing, so there is nothing to refund")
		}
	default:
		x.Full = true
	}
	return x, err
}

// BalanceRequest asks for a customer's balance: GET /customers/{customerId}/balance and one item of
// the balance-inquiry batch.
type BalanceRequest struct {
	CustomerID string `json:"customerId"`
}

// HoldReferenceRequest names a hold: GET and DELETE /transactions/hold/{holdReference}.
type HoldReferenceRequest struct {
	HoldReference string `json:"holdReference"`
}

// ActivateRequest names the transaction whose pending points PUT /transactions/{transactionId}/activate
// makes available now.
type ActivateRequest struct {
	TransactionID string `json:"transactionId"`
}

// OrderTransactionsRequest names the order of GET /orders/{orderId}/transactions and of one item of
// the orders/transactions batch.
type OrderTransactionsRequest struct {
	OrderID string `json:"orderId"`
}

// TransactionQuery is the filter and page of GET /transactions; empty fields do not filter.
type TransactionQuery struct {
	CustomerID string
	Type       string // a kind
	Status     string // StatusActive, StatusPending or StatusExpired
	Direction  string // "+" (points added) or "-" (points removed)
	From, To   string // transactionTime range: From inclusive, To exclusive (RFC 3339)
	Limit      int
	StartAfter string // the gameballTransactionId after which the page starts
}

// ParseTime reads a required RFC 3339 time; one without a zone is taken as UTC, as the reference
// API asks for UTC anyway, and a date alone is its midnight UTC.
func ParseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, FieldErrorf(CodeMissingArguments, field, "is required")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, FieldErrorf(CodeInvalidValue, field, "must be a date-time such as 2026-01-02T15:04:05Z")
}
