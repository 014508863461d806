package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Program is a tenant's loyalty program. Money fields keep the exact text of their JSON numbers.
type Program struct {
	Currency         string          `json:"currency"`
	PointsName       string          `json:"pointsName"`
	PointValue       json.Number     `json:"pointValue"`
	Cashback         CashbackProgram `json:"cashback"`
	ReturnWindowDays int             `json:"returnWindowDays"`
	PointsExpiryDays int             `json:"pointsExpiryDays"`
	HoldMinutes      int             `json:"holdMinutes"`
	// EventRules are the rules of POST /events, as the server's API description shows them.
	EventRules []json.RawMessage `json:"eventRules"`
}

// CashbackProgram is a program's cashback rule.
type CashbackProgram struct {
	Enabled           bool         `json:"enabled"`
	RatePercent       json.Number  `json:"ratePercent"`
	MinimumOrderValue *json.Number `json:"minimumOrderValue,omitempty"`
	MaximumCashback   *json.Number `json:"maximumCashback,omitempty"`
}

// CashbackConfiguration is the program's cashback rule in the reference API's terms.
type CashbackConfiguration struct {
	DefaultCashbackRule struct {
		AmountRewardThreshold json.Number `json:"amountRewardThreshold"`
		RewardWalletFactor    json.Number `json:"rewardWalletFactor"`
		RewardRankFactor      json.Number `json:"rewardRankFactor"`
		RewardFactor          json.Number `json:"rewardFactor"`
	} `json:"defaultCashbackRule"`
}

// RedemptionConfiguration is how the program's points are redeemed.
type RedemptionConfiguration struct {
	RedemptionFactor json.Number `json:"redemptionFactor"`
}

// LineItem is one product of an order or a refund.
type LineItem struct {
	ProductID string       `json:"productId,omitempty"`
	Quantity  json.Number  `json:"quantity,omitempty"`
	Price     *json.Number `json:"price,omitempty"`
	Sku       string       `json:"sku,omitempty"`
	Title     string       `json:"title,omitempty"`
	Taxes     *json.Number `json:"taxes,omitempty"`
	Discount  *json.Number `json:"discount,omitempty"`
}

// OrderRequest tracks an order.
type OrderRequest struct {
	CustomerID    string       `json:"customerId"`
	OrderID       string       `json:"orderId"`
	OrderDate     time.Time    `json:"orderDate"`
	TotalPaid     json.Number  `json:"totalPaid"`
	TotalPrice    *json.Number `json:"totalPrice,omitempty"`
	TotalDiscount *json.Number `json:"totalDiscount,omitempty"`
	TotalShipping *json.Number `json:"totalShipping,omitempty"`
	TotalTax      *json.Number `json:"totalTax,omitempty"`
	LineItems     []LineItem   `json:"lineItems,omitempty"`
	Redemption    *struct {
		PointsHoldReference string `json:"pointsHoldReference,omitempty"`
	} `json:"redemption,omitempty"`
	Extra                  map[string]any          `json:"extra,omitempty"`
	Channel                string                  `json:"channel,omitempty"`
	CartID                 string                  `json:"cartId,omitempty"`
	CashbackConfigurations *CashbackConfigurations `json:"cashbackConfigurations,omitempty"`
}

// CashbackConfigurations override the program's cashback settings for one transaction.
type CashbackConfigurations struct {
	ReturnWindow *int `json:"returnWindow,omitempty"`
}

// Credited says when points just credited can be spent and when they expire (nil: never).
type Credited struct {
	Status      string     `json:"status"`
	AvailableAt time.Time  `json:"availableAt"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
}

// OrderResult is the answer to Order.
type OrderResult struct {
	CustomerID            string `json:"customerId"`
	OrderID               string `json:"orderId"`
	GameballTransactionID int64  `json:"gameballTransactionId"`
	RewardedPoints        int64  `json:"rewardedPoints"`
	RedeemedPoints        int64  `json:"redeemedPoints"`
	Credited
}

// OrderTransaction is one transaction of an order.
type OrderTransaction struct {
	TransactionDate       time.Time   `json:"transactionDate"`
	GameballTransactionID int64       `json:"gameballTransactionId"`
	TransactionType       string      `json:"transactionType"`
	Amount                json.Number `json:"amount"`
	TransactionID         string      `json:"transactionId"`
	EquivalentPoints      int64       `json:"equivalentPoints"`
	Direction             string      `json:"direction"`
}

// OrderTransactions are the transactions of an order.
type OrderTransactions struct {
	Transactions []OrderTransaction `json:"transactions"`
	Count        int                `json:"count"`
}

// CashbackRequest earns cashback on a payment.
type CashbackRequest struct {
	CustomerID      string                  `json:"customerId"`
	TransactionID   string                  `json:"transactionId"`
	TransactionTime time.Time               `json:"transactionTime"`
	Amount          json.Number             `json:"amount"`
	Configurations  *CashbackConfigurations `json:"configurations,omitempty"`
}

// CashbackResult is the answer to Cashback.
type CashbackResult struct {
	CustomerID             string      `json:"customerId"`
	GameballTransactionID  int64       `json:"gameballTransactionId"`
	TransactionID          string      `json:"transactionId"`
	RewardAmount           json.Number `json:"rewardAmount"`
	RewardEquivalentPoints int64       `json:"rewardEquivalentPoints"`
	Credited
}

// ManualRequest adds (positive) or deducts (negative) points: set exactly one of Points and Amount.
type ManualRequest struct {
	CustomerID      string       `json:"customerId"`
	TransactionID   string       `json:"transactionId,omitempty"`
	TransactionTime time.Time    `json:"transactionTime,omitzero"`
	Username        string       `json:"username,omitempty"`
	Reason          string       `json:"reason,omitempty"`
	Points          *int64       `json:"points,omitempty"`
	Amount          *json.Number `json:"amount,omitempty"`
	ExpiryAfter     *int         `json:"expiryAfter,omitempty"`
}

// ManualResult is the answer to Manual.
type ManualResult struct {
	CustomerID            string      `json:"customerId"`
	GameballTransactionID int64       `json:"gameballTransactionId"`
	TransactionID         string      `json:"transactionId"`
	Points                int64       `json:"points"`
	Amount                json.Number `json:"amount"`
}

// HoldRequest holds points: set exactly one of PointsToHold and AmountToHold.
type HoldRequest struct {
	CustomerID      string       `json:"customerId"`
	TransactionTime time.Time    `json:"transactionTime"`
	PointsToHold    *int64       `json:"pointsToHold,omitempty"`
	AmountToHold    *json.Number `json:"amountToHold,omitempty"`
}

// Hold is a hold of points; State is Active, Expired, Used or Released.
type Hold struct {
	CustomerID           string      `json:"customerId"`
	HoldReference        string      `json:"holdReference"`
	HoldAmount           json.Number `json:"holdAmount"`
	HoldEquivalentPoints int64       `json:"holdEquivalentPoints"`
	State                string      `json:"state"`
	DateToExpire         time.Time   `json:"dateToExpire"`
}

// RedeemRequest spends points: set exactly one of Amount, Points and HoldReference.
type RedeemRequest struct {
	CustomerID      string       `json:"customerId"`
	TransactionID   string       `json:"transactionId"`
	TransactionTime time.Time    `json:"transactionTime"`
	Amount          *json.Number `json:"amount,omitempty"`
	Points          *int64       `json:"points,omitempty"`
	HoldReference   string       `json:"holdReference,omitempty"`
	Reason          string       `json:"reason,omitempty"`
}

// RedeemResult is the answer to Redeem.
type RedeemResult struct {
	CustomerID             string      `json:"customerId"`
	GameballTransactionID  string      `json:"gameballTransactionId"`
	TransactionID          string      `json:"transactionId"`
	RedeemAmount           json.Number `json:"redeemAmount"`
	RedeemEquivalentPoints int64       `json:"redeemEquivalentPoints"`
	Reason                 string      `json:"reason,omitempty"`
}

// RefundRequest refunds an order, a cashback or a redemption: all that is left of it when
// RefundAmount and LineItems are absent.
type RefundRequest struct {
	CustomerID           string       `json:"customerId"`
	RefundTransactionID  string       `json:"refundTransactionId"`
	ReverseTransactionID string       `json:"reverseTransactionId"`
	TransactionTime      time.Time    `json:"transactionTime"`
	RefundAmount         *json.Number `json:"refundAmount,omitempty"`
	LineItems            []LineItem   `json:"lineItems,omitempty"`
}

// RefundResult is the answer to Refund.
type RefundResult struct {
	GameballTransactionID  string      `json:"gameballTransactionId"`
	RefundTransactionID    string      `json:"refundTransactionId"`
	RefundAmount           json.Number `json:"refundAmount"`
	RefundEquivalentPoints int64       `json:"refundEquivalentPoints"`
	PointsTakenBack        int64       `json:"pointsTakenBack"`
	PointsReturned         int64       `json:"pointsReturned"`
}

// ActivateResult is the answer to Activate.
type ActivateResult struct {
	PointsActivated       int64  `json:"pointsActivated"`
	GameballTransactionID int64  `json:"gameballTransactionId"`
	ClientTransactionID   string `json:"clientTransactionId"`
}

// Transaction is one transaction as Transactions lists it; Direction says whether Points were added
// (+) or removed (-).
type Transaction struct {
	TransactionID         string      `json:"transactionId"`
	GameballTransactionID string      `json:"gameballTransactionId"`
	Type                  string      `json:"type"`
	Direction             string      `json:"direction"`
	CustomerID            string      `json:"customerId"`
	Points                int64       `json:"points"`
	Amount                json.Number `json:"amount"`
	TransactionTime       time.Time   `json:"transactionTime"`
	Status                string      `json:"status"`
	Reason                string      `json:"reason,omitempty"`
	AvailableAt           *time.Time  `json:"availableAt,omitempty"`
	ExpiryDate            *time.Time  `json:"expiryDate,omitempty"`
	CreatedAt             time.Time   `json:"createdAt"`
}

// TransactionQuery selects transactions; zero fields do not filter.
type TransactionQuery struct {
	CustomerID, Type, Status, Direction string
	From, To                            time.Time // transaction time at or after From, before To
	Limit                               int
	StartAfter                          string // the NextCursor of the page before
}

// TransactionPage is one page of transactions, oldest first.
type TransactionPage struct {
	Transactions []Transaction `json:"transactions"`
	Count        int           `json:"count"`
	HasMore      bool          `json:"hasMore"`
	NextCursor   string        `json:"nextCursor,omitempty"`
}

// Balance is a customer's points balance; Total = Available + Pending + Held.
type Balance struct {
	TotalPointsBalance       int64       `json:"totalPointsBalance"`
	TotalPointsValue         json.Number `json:"totalPointsValue"`
	AvailablePointsBalance   int64       `json:"availablePointsBalance"`
	AvailablePointsValue     json.Number `json:"availablePointsValue"`
	PendingPoints            int64       `json:"pendingPoints"`
	PendingPointsValue       json.Number `json:"pendingPointsValue"`
	HeldPoints               int64       `json:"heldPoints"`
	Currency                 string      `json:"currency"`
	PointsName               string      `json:"pointsName"`
	NextExpiringPointsAmount int64       `json:"nextExpiringPointsAmount"`
	NextExpiringPointsValue  json.Number `json:"nextExpiringPointsValue"`
	NextExpiringPointsDate   *time.Time  `json:"nextExpiringPointsDate"`
	TotalEarnedPoints        int64       `json:"totalEarnedPoints"`
}

// Program reads the tenant's loyalty program (needs the secret key).
func (c *Client) Program(ctx context.Context) (Program, error) {
	return call[Program](ctx, c, http.MethodGet, "/configurations/program", nil)
}

// SetProgram replaces the tenant's loyalty program and returns it as stored. Every field is sent, so
// start from what Program returned and change what you mean to.
func (c *Client) SetProgram(ctx context.Context, p Program) (Program, error) {
	return call[Program](ctx, c, http.MethodPut, "/configurations/program", p)
}

// CashbackConfiguration reads the cashback rule in the reference API's terms.
func (c *Client) CashbackConfiguration(ctx context.Context) (CashbackConfiguration, error) {
	return call[CashbackConfiguration](ctx, c, http.MethodGet, "/configurations/cashback", nil)
}

// RedemptionConfiguration reads how points are redeemed.
func (c *Client) RedemptionConfiguration(ctx context.Context) (RedemptionConfiguration, error) {
	return call[RedemptionConfiguration](ctx, c, http.MethodGet, "/configurations/redemption", nil)
}

// Order tracks an order: it earns cashback and, with a hold reference, redeems the held points.
func (c *Client) Order(ctx context.Context, req OrderRequest) (OrderResult, error) {
	return call[OrderResult](ctx, c, http.MethodPost, "/orders", req)
}

// OrderTransactions lists the transactions of an order.
func (c *Client) OrderTransactions(ctx context.Context, orderID string) (OrderTransactions, error) {
	return call[OrderTransactions](ctx, c, http.MethodGet, "/orders/"+esc(orderID)+"/transactions", nil)
}

// Cashback earns the program's cashback on a payment.
func (c *Client) Cashback(ctx context.Context, req CashbackRequest) (CashbackResult, error) {
	return call[CashbackResult](ctx, c, http.MethodPost, "/transactions/cashback", req)
}

// Manual adds or deducts points by hand.
func (c *Client) Manual(ctx context.Context, req ManualRequest) (ManualResult, error) {
	return call[ManualResult](ctx, c, http.MethodPost, "/transactions/manual", req)
}

// Hold reserves points for a later redemption.
func (c *Client) Hold(ctx context.Context, req HoldRequest) (Hold, error) {
	return call[Hold](ctx, c, http.MethodPost, "/transactions/hold", req)
}

// GetHold reads a hold.
func (c *Client) GetHold(ctx context.Context, reference string) (Hold, error) {
	return call[Hold](ctx, c, http.MethodGet, "/transactions/hold/"+esc(reference), nil)
}

// ReleaseHold releases an active hold.
func (c *Client) ReleaseHold(ctx context.Context, reference string) error {
	return c.Do(ctx, http.MethodDelete, "/transactions/hold/"+esc(reference), nil, nil)
}

// Redeem spends points as a payment method.
func (c *Client) Redeem(ctx context.Context, req RedeemRequest) (RedeemResult, error) {
	return call[RedeemResult](ctx, c, http.MethodPost, "/transactions/redeem", req)
}

// Refund refunds an order, a cashback or a redemption.
func (c *Client) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	return call[RefundResult](ctx, c, http.MethodPost, "/transactions/refund", req)
}

// Activate makes a transaction's pending points available now.
func (c *Client) Activate(ctx context.Context, transactionID string) (ActivateResult, error) {
	return call[ActivateResult](ctx, c, http.MethodPut, "/transactions/"+esc(transactionID)+"/activate", nil)
}

// Transactions lists transactions, oldest first.
func (c *Client) Transactions(ctx context.Context, q TransactionQuery) (TransactionPage, error) {
	query := pageQuery(map[string]string{"customerId": q.CustomerID, "type": q.Type, "status": q.Status,
		"direction": q.Direction, "from": timeText(q.From), "to": timeText(q.To)}, q.Limit, q.StartAfter)
	return get[TransactionPage](ctx, c, "/transactions", query)
}

// Balance reads a customer's points balance.
func (c *Client) Balance(ctx context.Context, customerID string) (Balance, error) {
	return call[Balance](ctx, c, http.MethodGet, "/customers/"+esc(customerID)+"/balance", nil)
}

// Points is a pointer to n, for the optional point counts of requests.
func Points(n int64) *int64 { return &n }

// Amount is a pointer to the JSON number text, for the optional amounts of requests.
func Amount(text string) *json.Number { n := json.Number(text); return &n }
