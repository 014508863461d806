package httpapi

import (
	"context"
	"net/http"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/openapi"
	"github.com/tally-loyalty/tally/internal/store"
)

// pointsRoutes are the loyalty program, orders, transactions, holds and balances.
func (s *Server) pointsRoutes() []route {
	program, orders, txns := []string{"Program"}, []string{"Orders"}, []string{"Transactions"}
	notFound := http.StatusNotFound
	e := s.cfg.Engine
	list := op("GET", "/transactions", "List transactions", txns, true, nil, engine.TransactionPage{}, notFound)
	list.Query = append(pageParams(),
		openapi.Param{Name: "customerId", Description: "Only this customer's transactions."},
		openapi.Param{Name: "type", Description: "Only transactions of this type, e.g. PaymentReward, Redemption, Expiry."},
		openapi.Param{Name: "status", Description: "Only transactions with this status now: Active, Pending or Expired."},
		openapi.Param{Name: "direction", Description: "+ for transactions that added points, - for those that removed them."},
		openapi.Param{Name: "from", Description: "Only transactions at or after this transactionTime (RFC 3339, or a date)."},
		openapi.Param{Name: "to", Description: "Only transactions before this transactionTime (RFC 3339, or a date)."},
	)
	return []route{
		{Operation: op("GET", "/configurations/program", "Get the loyalty program (Tally addition)", program, true, nil, loyalty.Program{}),
			handle: tenantRead(s, e.Program)},
		{Operation: op("PUT", "/configurations/program", "Replace the loyalty program; fields left out take their defaults (Tally addition)",
			program, true, loyalty.Program{}, loyalty.Program{}),
			handle: s.putProgram},
		{Operation: op("GET", "/configurations/cashback", "Get the cashback configuration", program, false, nil, engine.CashbackConfiguration{}),
			handle: tenantRead(s, e.CashbackConfig)},
		{Operation: op("GET", "/configurations/redemption", "Get the redemption configuration", program, false, nil, engine.RedemptionConfiguration{}),
			handle: tenantRead(s, e.RedemptionConfig)},

		{Operation: op("POST", "/orders", "Track an order: earn cashback, optionally redeem a hold", orders, true,
			loyalty.OrderRequest{}, engine.OrderResult{}, notFound),
			handle: writeOp(s, e.Order)},
		{Operation: op("GET", "/orders/{orderId}/transactions", "List an order's transactions", orders, true, nil,
			engine.OrderTransactionsResult{}, notFound),
			handle: pathOp(s, false, e.OrderTransactions, func(r *http.Request) *loyalty.OrderTransactionsRequest {
				return &loyalty.OrderTransactionsRequest{OrderID: r.PathValue("orderId")}
			})},

		{Operation: op("POST", "/transactions/cashback", "Earn cashback on a payment", txns, true,
			loyalty.CashbackRequest{}, engine.CashbackResult{}),
			handle: writeOp(s, e.Cashback)},
		{Operation: op("POST", "/transactions/manual", "Add or deduct points by hand", txns, true,
			loyalty.ManualRequest{}, engine.ManualResult{}, notFound),
			handle: writeOp(s, e.Manual)},
		{Operation: op("POST", "/transactions/hold", "Hold points for a later redemption", txns, true,
			loyalty.HoldRequest{}, engine.HoldView{}, notFound),
			handle: writeOp(s, e.Hold)},
		{Operation: op("GET", "/transactions/hold/{holdReference}", "Get a hold", txns, true, nil, engine.HoldView{}, notFound),
			handle: pathOp(s, false, e.GetHold, holdReferenceOf)},
		{Operation: op("DELETE", "/transactions/hold/{holdReference}", "Release a hold", txns, true, nil, engine.ReleaseResult{}, notFound),
			handle: pathOp(s, true, e.ReleaseHold, holdReferenceOf)},
		{Operation: op("POST", "/transactions/redeem", "Redeem points as a payment method", txns, true,
			loyalty.RedeemRequest{}, engine.RedeemResult{}, notFound),
			handle: writeOp(s, e.Redeem)},
		{Operation: op("POST", "/transactions/refund", "Refund an order, a cashback or a redemption, in full or in part", txns, true,
			loyalty.RefundRequest{}, engine.RefundResult{}, notFound),
			handle: writeOp(s, e.Refund)},
		{Operation: op("PUT", "/transactions/{transactionId}/activate", "Make a transaction's pending points available now", txns, true,
			nil, engine.ActivateResult{}, notFound),
			handle: pathOp(s, true, e.Activate, func(r *http.Request) *loyalty.ActivateRequest {
				return &loyalty.ActivateRequest{TransactionID: r.PathValue("transactionId")}
			})},
		{Operation: list, handle: s.listTransactions},

		{Operation: op("GET", "/customers/{customerId}/balance", "Get a customer's points balance", []string{"Customers"}, true,
			nil, engine.BalanceResult{}, notFound),
			handle: pathOp(s, false, e.BalanceInquiry, func(r *http.Request) *loyalty.BalanceRequest {
				return &loyalty.BalanceRequest{CustomerID: r.PathValue("customerId")}
			})},
	}
}

func holdReferenceOf(r *http.Request) *loyalty.HoldReferenceRequest {
	return &loyalty.HoldReferenceRequest{HoldReference: r.PathValue("holdReference")}
}

// pathOp serves an endpoint whose operation's request comes from the path rather than a body: it
// runs the operation in a write or a read-only transaction and answers 200 with its result.
func pathOp[Req, Res any](s *Server, write bool, op engine.Op[Req, Res], request func(*http.Request) *Req) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.answer(w, r, write, func(tx *store.Tx) (any, error) {
			return op(r.Context(), tx, tenantOf(r).ID, request(r))
		})
	}
}

// tenantRead serves a read of the tenant's configuration.
func tenantRead[Res any](s *Server, read func(context.Context, *store.Tx, int64) (Res, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.answer(w, r, false, func(tx *store.Tx) (any, error) {
			return read(r.Context(), tx, tenantOf(r).ID)
		})
	}
}

// answer runs fn in a write or read-only transaction and answers 200 with its result.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, write bool, fn func(*store.Tx) (any, error)) error {
	var res any
	run := s.cfg.DB.Read
	if write {
		run = s.cfg.DB.Write
	}
	err := run(r.Context(), func(tx *store.Tx) error {
		var err error
		res, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) putProgram(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	p, err := loyalty.DecodeProgram(data)
	if err != nil {
		return err
	}
	return s.answer(w, r, true, func(tx *store.Tx) (any, error) {
		return s.cfg.Engine.SetProgram(r.Context(), tx, tenantOf(r).ID, &p)
	})
}

func (s *Server) listTransactions(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	direction := q.Get("direction")
	if direction == " " { // an unescaped "+" in a query string reads as a space
		direction = "+"
	}
	query := &loyalty.TransactionQuery{CustomerID: q.Get("customerId"), Type: q.Get("type"), Status: q.Get("status"),
		Direction: direction, From: q.Get("from"), To: q.Get("to"), Limit: p.Limit, StartAfter: p.StartAfter}
	return s.answer(w, r, false, func(tx *store.Tx) (any, error) {
		return s.cfg.Engine.Transactions(r.Context(), tx, tenantOf(r).ID, query)
	})
}
