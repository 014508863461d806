package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// pointsEnv is a server with one tenant whose customer "ada" the points tests build up step by step.
type pointsEnv struct {
	env *apptest.Env
	a   apptest.Tenant
}

// fails asserts that call fails with the status and code and changes nothing of the tenant's.
func (p *pointsEnv) fails(t *testing.T, status, code int, call func() error) *client.Error {
	t.Helper()
	before := tenantState(t, p.env.App.DB, p.a.ID)
	e := wantError(t, call(), status, code)
	if after := tenantState(t, p.env.App.DB, p.a.ID); after != before {
		t.Fatalf("the failed call changed the tenant's data:\n%s", lineDiff(before, after))
	}
	return e
}

// failsRaw sends a raw body and asserts fails, and that the error names the field when one is given.
func (p *pointsEnv) failsRaw(t *testing.T, method, path, body string, status, code int, field string) {
	t.Helper()
	e := p.fails(t, status, code, func() error { return raw(p.a.Client, method, path, body) })
	if field != "" && (len(e.Errors) == 0 || e.Errors[0].Field != field) {
		t.Fatalf("errors %+v, want field %q", e.Errors, field)
	}
}

// balance returns (total, available, pending, held) of the customer.
func (p *pointsEnv) balance(t *testing.T, customerID string) (client.Balance, [4]int64) {
	t.Helper()
	b, err := p.a.Client.Balance(ctx, customerID)
	if err != nil {
		t.Fatalf("balance of %s: %v", customerID, err)
	}
	return b, [4]int64{b.TotalPointsBalance, b.AvailablePointsBalance, b.PendingPoints, b.HeldPoints}
}

func (p *pointsEnv) wantBalance(t *testing.T, customerID string, total, available, pending, held int64) client.Balance {
	t.Helper()
	b, got := p.balance(t, customerID)
	if want := [4]int64{total, available, pending, held}; got != want {
		t.Fatalf("%s: (total, available, pending, held) = %v, want %v", customerID, got, want)
	}
	return b
}

func (p *pointsEnv) now() time.Time { return p.env.Clock.Now() }

func TestPoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		p := &pointsEnv{env: env, a: env.NewTenant(t, "a")}
		c := p.a.Client
		// Each step builds on the ones before it.
		t.Run("program", func(t *testing.T) { testProgram(t, p) })
		t.Run("orders", func(t *testing.T) { testOrders(t, p) })
		t.Run("cashback", func(t *testing.T) { testCashback(t, p) })
		t.Run("manual", func(t *testing.T) { testManual(t, p) })
		t.Run("holds and redemptions", func(t *testing.T) { testHoldsAndRedemptions(t, p) })
		t.Run("refunds", func(t *testing.T) { testRefunds(t, p) })
		t.Run("pending and activate", func(t *testing.T) { testPendingAndActivate(t, p) })
		t.Run("expiry", func(t *testing.T) { testExpiry(t, p) })
		t.Run("transactions", func(t *testing.T) { testTransactionList(t, p) })
		t.Run("tenant isolation", func(t *testing.T) {
			b := env.NewTenant(t, "b").Client
			_, err := b.Balance(ctx, "ada")
			wantError(t, err, http.StatusNotFound, 7000)
			_, err = b.OrderTransactions(ctx, "o-1")
			wantError(t, err, http.StatusNotFound, 4004)
			_, err = b.Activate(ctx, "o-1")
			wantError(t, err, http.StatusNotFound, 9002)
			page, err := b.Transactions(ctx, client.TransactionQuery{})
			if err != nil || page.Count != 0 {
				t.Fatalf("tenant b sees transactions: %+v %v", page, err)
			}
			// b's own order with a's orderId is b's.
			if _, err := b.Order(ctx, client.OrderRequest{CustomerID: "ada", OrderID: "o-1", OrderDate: p.now(), TotalPaid: "1"}); err != nil {
				t.Fatal(err)
			}
			if txs, err := c.OrderTransactions(ctx, "o-1"); err != nil || txs.Transactions[0].EquivalentPoints != 199 {
				t.Fatalf("a's order changed: %+v %v", txs, err)
			}
		})
	})
}

func testProgram(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	prog, err := c.Program(ctx)
	if err != nil || prog.Currency != "USD" || prog.PointValue != "0.01" || prog.Cashback.RatePercent != "10" ||
		!prog.Cashback.Enabled || prog.HoldMinutes != 10 || prog.ReturnWindowDays != 0 || prog.PointsExpiryDays != 0 {
		t.Fatalf("default program: %+v %v", prog, err)
	}
	cb, err := p.a.PublicKey.CashbackConfiguration(ctx)
	if err != nil || cb.DefaultCashbackRule.RewardFactor != "10" || cb.DefaultCashbackRule.RewardWalletFactor != "10" {
		t.Fatalf("cashback configuration: %+v %v", cb, err)
	}
	rd, err := p.a.PublicKey.RedemptionConfiguration(ctx)
	if err != nil || rd.RedemptionFactor != "0.01" {
		t.Fatalf("redemption configuration: %+v %v", rd, err)
	}
	p.fails(t, http.StatusUnauthorized, 1001, func() error { _, err := p.a.PublicKey.Program(ctx); return err })
	p.fails(t, http.StatusUnauthorized, 1001, func() error { _, err := p.a.PublicKey.SetProgram(ctx, prog); return err })
	p.failsRaw(t, http.MethodPut, "/configurations/program", `{"currency":"XXX"}`, 422, 3003, "currency")
	p.failsRaw(t, http.MethodPut, "/configurations/program", `{"pointValue":0}`, 422, 3003, "pointValue")
	p.failsRaw(t, http.MethodPut, "/configurations/program", `{"holdMinutes":0}`, 422, 3003, "holdMinutes")
	p.failsRaw(t, http.MethodPut, "/configurations/program", `{"cashback":{"ratePercent":"100.5"}}`, 422, 3003, "cashback.ratePercent")
	p.failsRaw(t, http.MethodPut, "/configurations/program", `{"cashback":{"maximumCashback":1.001}}`, 422, 3003, "cashback.maximumCashback")
	p.failsRaw(t, http.MethodPut, "/configurations/program", `{"returnWindowDays":"soon"}`, 422, 3003, "returnWindowDays")
	p.failsRaw(t, http.MethodPut, "/configurations/program", `[`, 400, 3016, "")
	p.failsRaw(t, http.MethodPut, "/configurations/program",
		`{"eventRules":[{"event":"e","points":1,"conditions":[{"key":"k","op":"eq","value":"`+"\xff"+`"}]}]}`, 422, 3003, "")

	// Fields left out take their defaults; the change shows everywhere.
	var got client.Program
	err = c.Send(ctx, client.Request{Method: http.MethodPut, Path: "/configurations/program",
		Body: []byte(`{"pointsName":"stars","cashback":{"ratePercent":5}}`)}, &got)
	if err != nil || got.PointsName != "stars" || got.Cashback.RatePercent != "5" || !got.Cashback.Enabled || got.HoldMinutes != 10 {
		t.Fatalf("partial program: %+v %v", got, err)
	}
	if again, err := c.Program(ctx); err != nil || again.PointsName != "stars" {
		t.Fatalf("program after PUT: %+v %v", again, err)
	}
	// Back to the defaults for the steps that follow.
	prog.PointsName = "points"
	if _, err := c.SetProgram(ctx, prog); err != nil {
		t.Fatal(err)
	}
}

func testOrders(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	res, err := c.Order(ctx, client.OrderRequest{CustomerID: "ada", OrderID: "o-1", OrderDate: p.now(), TotalPaid: "19.99",
		LineItems: []client.LineItem{{ProductID: "p-1", Quantity: "1", Price: client.Amount("19.99")}}})
	if err != nil || res.RewardedPoints != 199 || res.RedeemedPoints != 0 || res.Status != "Active" || res.CustomerID != "ada" {
		t.Fatalf("order: %+v %v", res, err) // 10% of 19.99 is 1.999 USD: 199 points, rounded down
	}
	b := p.wantBalance(t, "ada", 199, 199, 0, 0)
	if b.TotalPointsValue != "1.99" || b.TotalEarnedPoints != 199 || b.PointsName != "points" || b.NextExpiringPointsDate != nil {
		t.Fatalf("balance: %+v", b)
	}
	txs, err := c.OrderTransactions(ctx, "o-1")
	if err != nil || txs.Count != 1 || txs.Transactions[0].TransactionType != "PaymentReward" ||
		txs.Transactions[0].EquivalentPoints != 199 || txs.Transactions[0].Amount != "19.99" || txs.Transactions[0].TransactionID != "o-1" {
		t.Fatalf("order transactions: %+v %v", txs, err)
	}

	date := `"orderDate":"2026-01-01T08:00:00Z"`
	p.fails(t, 422, 9004, func() error {
		_, err := c.Order(ctx, client.OrderRequest{CustomerID: "ada", OrderID: "o-1", OrderDate: p.now(), TotalPaid: "5"})
		return err
	})
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"ada","orderId":"o-x",`+date+`,"totalPaid":19.999}`, 422, 3003, "totalPaid")
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"ada","orderId":"o-x",`+date+`,"totalPaid":-1}`, 422, 3003, "totalPaid")
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"ada",`+date+`,"totalPaid":1}`, 400, 3000, "orderId")
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"ada","orderId":"o-x",`+date+`}`, 400, 3000, "totalPaid")
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"ada","orderId":"o-x","orderDate":"yesterday","totalPaid":1}`, 422, 3003, "orderDate")
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"ada","orderId":"o-x",`+date+`,"totalPaid":1,"lineItems":[{"price":1.001}]}`,
		422, 3003, "lineItems[0].price")
	// Extra information is kept as sent, so it must be text every database can store: a body that is
	// not valid UTF-8 is refused whole.
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"ada","orderId":"o-x",`+date+`,"totalPaid":1,"extra":{"note":"`+"\xff"+`"}}`,
		422, 3003, "")
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"ada","orderId":"o-x",`+date+`,"totalPaid":1,"lineItems":[{"extra":{"k":"`+"\xfe"+`"}}]}`,
		422, 3003, "")
	// A hold that does not exist: nothing is written, not even the unknown customer.
	p.failsRaw(t, http.MethodPost, "/orders", `{"customerId":"zed","orderId":"o-x",`+date+`,"totalPaid":1,"redemption":{"pointsHoldReference":"nope"}}`,
		404, 9006, "")
	p.fails(t, 404, 7000, func() error { _, err := c.Balance(ctx, "zed"); return err })
	p.fails(t, 404, 4004, func() error { _, err := c.OrderTransactions(ctx, "nope"); return err })
	p.fails(t, 401, 1001, func() error {
		_, err := p.a.PublicKey.Order(ctx, client.OrderRequest{CustomerID: "ada", OrderID: "o-x", OrderDate: p.now(), TotalPaid: "1"})
		return err
	})
}

func testCashback(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	res, err := c.Cashback(ctx, client.CashbackRequest{CustomerID: "ada", TransactionID: "cb-1", TransactionTime: p.now(), Amount: "50"})
	if err != nil || res.RewardEquivalentPoints != 500 || res.RewardAmount != "5" || res.TransactionID != "cb-1" || res.GameballTransactionID == 0 {
		t.Fatalf("cashback: %+v %v", res, err)
	}
	p.wantBalance(t, "ada", 699, 699, 0, 0)
	at := `"transactionTime":"2026-01-01T08:00:00Z"`
	p.fails(t, 422, 9004, func() error { // an orderId is a transactionId too
		_, err := c.Cashback(ctx, client.CashbackRequest{CustomerID: "ada", TransactionID: "o-1", TransactionTime: p.now(), Amount: "1"})
		return err
	})
	p.failsRaw(t, http.MethodPost, "/transactions/cashback", `{"customerId":"ada","transactionId":"cb-x",`+at+`,"amount":1.001}`, 422, 3003, "amount")
	p.failsRaw(t, http.MethodPost, "/transactions/cashback", `{"customerId":"ada","transactionId":"cb-x","amount":1}`, 400, 3000, "transactionTime")
	p.failsRaw(t, http.MethodPost, "/transactions/cashback", `{"customerId":"ada","transactionId":"cb-x",`+at+`,"amount":"lots"}`, 422, 3003, "")
	p.failsRaw(t, http.MethodPost, "/transactions/cashback", `{"customerId":"ada","transactionId":"cb-x",`+at+`,"amount":1,
		"configurations":{"returnWindow":7301}}`, 422, 3003, "configurations.returnWindow")
}

func testManual(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	res, err := c.Manual(ctx, client.ManualRequest{CustomerID: "ada", TransactionID: "m-1", Username: "ops", Reason: "goodwill", Points: client.Points(300)})
	if err != nil || res.Points != 300 || res.Amount != "3" {
		t.Fatalf("manual add: %+v %v", res, err)
	}
	res, err = c.Manual(ctx, client.ManualRequest{CustomerID: "ada", TransactionID: "m-2", Amount: client.Amount("-0.99")})
	if err != nil || res.Points != -99 || res.Amount != "-0.99" {
		t.Fatalf("manual deduction: %+v %v", res, err)
	}
	p.wantBalance(t, "ada", 900, 900, 0, 0)
	// A new customer is created by an addition; a transactionId is made up when absent.
	res, err = c.Manual(ctx, client.ManualRequest{CustomerID: "bob", Points: client.Points(10)})
	if err != nil || res.TransactionID == "" {
		t.Fatalf("manual add for a new customer: %+v %v", res, err)
	}

	e := p.failsRaw
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-x","points":1,"amount":1}`, 422, 3003, "")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-x","reason":"?"}`, 400, 3000, "")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-x","points":1,"expiryAfter":-1}`, 422, 3003, "expiryAfter")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-x","points":-1,"expiryAfter":5}`, 422, 3003, "expiryAfter")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-x","points":0}`, 422, 3003, "points")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-x","points":1.5}`, 422, 3003, "points")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-x","amount":0.001}`, 422, 3003, "amount")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-1","points":1}`, 422, 9004, "")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ada","transactionId":"m-x","points":-901}`, 422, 9008, "")
	e(t, http.MethodPost, "/transactions/manual", `{"customerId":"ghost","transactionId":"m-x","points":-1}`, 404, 7000, "")
	msg := p.fails(t, 422, 3003, func() error {
		_, err := c.Manual(ctx, client.ManualRequest{CustomerID: "ada", Points: client.Points(1), Amount: client.Amount("1")})
		return err
	})
	if msg.Message != "Only one rewarding method may be specified" {
		t.Fatalf("message %q", msg.Message)
	}
}

func testHoldsAndRedemptions(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	h, err := c.Hold(ctx, client.HoldRequest{CustomerID: "ada", TransactionTime: p.now(), PointsToHold: client.Points(200)})
	if err != nil || h.State != "Active" || h.HoldEquivalentPoints != 200 || h.HoldAmount != "2" || h.HoldReference == "" ||
		!h.DateToExpire.Equal(p.now().Add(10*time.Minute)) {
		t.Fatalf("hold: %+v %v", h, err)
	}
	p.wantBalance(t, "ada", 900, 700, 0, 200)
	if got, err := c.GetHold(ctx, h.HoldReference); err != nil || got.State != "Active" || got.CustomerID != "ada" {
		t.Fatalf("get hold: %+v %v", got, err)
	}
	at := `"transactionTime":"2026-01-01T08:00:00Z"`
	p.failsRaw(t, http.MethodPost, "/transactions/hold", `{"customerId":"ghost",`+at+`,"pointsToHold":1}`, 404, 7000, "")
	p.failsRaw(t, http.MethodPost, "/transactions/hold", `{"customerId":"ada",`+at+`,"pointsToHold":701}`, 422, 9008, "")
	p.failsRaw(t, http.MethodPost, "/transactions/hold", `{"customerId":"ada",`+at+`,"pointsToHold":1,"amountToHold":1}`, 422, 3003, "")
	p.failsRaw(t, http.MethodPost, "/transactions/hold", `{"customerId":"ada",`+at+`}`, 400, 3000, "")
	p.failsRaw(t, http.MethodPost, "/transactions/hold", `{"customerId":"ada",`+at+`,"amountToHold":0.001}`, 422, 3003, "amountToHold")
	p.fails(t, 404, 9006, func() error { _, err := c.GetHold(ctx, "nope"); return err })

	r, err := c.Redeem(ctx, client.RedeemRequest{CustomerID: "ada", TransactionID: "r-1", TransactionTime: p.now(), Points: client.Points(100)})
	if err != nil || r.RedeemEquivalentPoints != 100 || r.RedeemAmount != "1" || r.GameballTransactionID == "" {
		t.Fatalf("redeem points: %+v %v", r, err)
	}
	r, err = c.Redeem(ctx, client.RedeemRequest{CustomerID: "ada", TransactionID: "r-2", TransactionTime: p.now(), Amount: client.Amount("1.5"),
		Reason: "discount"})
	if err != nil || r.RedeemEquivalentPoints != 150 || r.RedeemAmount != "1.5" || r.Reason != "discount" {
		t.Fatalf("redeem amount: %+v %v", r, err)
	}
	r, err = c.Redeem(ctx, client.RedeemRequest{CustomerID: "ada", TransactionID: "r-hold", TransactionTime: p.now(), HoldReference: h.HoldReference})
	if err != nil || r.RedeemEquivalentPoints != 200 || r.RedeemAmount != "2" {
		t.Fatalf("redeem hold: %+v %v", r, err)
	}
	p.wantBalance(t, "ada", 450, 450, 0, 0)
	if got, err := c.GetHold(ctx, h.HoldReference); err != nil || got.State != "Used" {
		t.Fatalf("used hold: %+v %v", got, err)
	}

	redeemBody := func(rest string) string {
		return `{"customerId":"ada","transactionId":"r-x",` + at + rest + `}`
	}
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(`,"holdReference":"`+h.HoldReference+`"`), 404, 9006, "")
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(`,"holdReference":"nope"`), 404, 9006, "")
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(`,"points":451`), 422, 9008, "")
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(`,"points":1,"amount":1`), 422, 3003, "")
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(``), 400, 3000, "")
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(`,"amount":0.001`), 422, 3003, "amount")
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(`,"points":-5`), 422, 3003, "points")
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", `{"customerId":"ada","transactionId":"r-1",`+at+`,"points":1}`, 422, 9004, "")
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", `{"customerId":"ghost","transactionId":"r-x",`+at+`,"points":1}`, 404, 7000, "")

	// A released hold gives its points back and can be neither redeemed nor released again.
	h2, err := c.Hold(ctx, client.HoldRequest{CustomerID: "ada", TransactionTime: p.now(), AmountToHold: client.Amount("0.5")})
	if err != nil || h2.HoldEquivalentPoints != 50 {
		t.Fatalf("hold amount: %+v %v", h2, err)
	}
	p.wantBalance(t, "ada", 450, 400, 0, 50)
	if err := c.ReleaseHold(ctx, h2.HoldReference); err != nil {
		t.Fatal(err)
	}
	p.wantBalance(t, "ada", 450, 450, 0, 0)
	p.fails(t, 404, 9006, func() error { return c.ReleaseHold(ctx, h2.HoldReference) })
	p.fails(t, 404, 9006, func() error { return c.ReleaseHold(ctx, "nope") })
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(`,"holdReference":"`+h2.HoldReference+`"`), 404, 9006, "")
	if got, err := c.GetHold(ctx, h2.HoldReference); err != nil || got.State != "Released" {
		t.Fatalf("released hold: %+v %v", got, err)
	}

	// A hold lapses at its time, with nobody calling; an order can redeem an active one.
	h3, err := c.Hold(ctx, client.HoldRequest{CustomerID: "ada", TransactionTime: p.now(), PointsToHold: client.Points(40)})
	if err != nil {
		t.Fatal(err)
	}
	p.env.Clock.Advance(10 * time.Minute)
	p.wantBalance(t, "ada", 450, 450, 0, 0)
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", redeemBody(`,"holdReference":"`+h3.HoldReference+`"`), 404, 9006, "")
	h4, err := c.Hold(ctx, client.HoldRequest{CustomerID: "ada", TransactionTime: p.now(), PointsToHold: client.Points(50)})
	if err != nil {
		t.Fatal(err)
	}
	order := client.OrderRequest{CustomerID: "ada", OrderID: "o-hold", OrderDate: p.now(), TotalPaid: "10"}
	order.Redemption = &struct {
		PointsHoldReference string `json:"pointsHoldReference,omitempty"`
	}{h4.HoldReference}
	res, err := c.Order(ctx, order)
	if err != nil || res.RewardedPoints != 100 || res.RedeemedPoints != 50 {
		t.Fatalf("order with hold: %+v %v", res, err)
	}
	p.wantBalance(t, "ada", 500, 500, 0, 0)
	txs, err := c.OrderTransactions(ctx, "o-hold")
	if err != nil || txs.Count != 2 || txs.Transactions[1].TransactionType != "Redemption" || txs.Transactions[1].Direction != "-" {
		t.Fatalf("order transactions: %+v %v", txs, err)
	}
}

func testRefunds(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	refund := func(id, of, amount string) (client.RefundResult, error) {
		r := client.RefundRequest{CustomerID: "ada", RefundTransactionID: id, ReverseTransactionID: of, TransactionTime: p.now()}
		if amount != "" {
			r.RefundAmount = client.Amount(amount)
		}
		return c.Refund(ctx, r)
	}
	// 10.00 of the 19.99 of o-1 takes back floor(199 × 1000 / 1999) = 99 of its 199 points.
	r, err := refund("rf-1", "o-1", "10")
	if err != nil || r.PointsTakenBack != 99 || r.PointsReturned != 0 || r.RefundAmount != "10" || r.RefundEquivalentPoints != 99 {
		t.Fatalf("partial refund: %+v %v", r, err)
	}
	p.wantBalance(t, "ada", 401, 401, 0, 0)
	p.fails(t, 422, 3003, func() error { _, err := refund("rf-x", "o-1", "10"); return err }) // 9.99 is left
	p.fails(t, 422, 9004, func() error { _, err := refund("rf-1", "o-1", "1"); return err })
	p.fails(t, 404, 9005, func() error { _, err := refund("rf-x", "nope", ""); return err })
	p.fails(t, 422, 9000, func() error { _, err := refund("rf-x", "m-1", ""); return err })
	p.fails(t, 404, 7000, func() error {
		_, err := c.Refund(ctx, client.RefundRequest{CustomerID: "ghost", RefundTransactionID: "rf-x", ReverseTransactionID: "o-1", TransactionTime: p.now()})
		return err
	})
	p.fails(t, 404, 9005, func() error { // not bob's
		_, err := c.Refund(ctx, client.RefundRequest{CustomerID: "bob", RefundTransactionID: "rf-x", ReverseTransactionID: "o-1", TransactionTime: p.now()})
		return err
	})
	p.failsRaw(t, http.MethodPost, "/transactions/refund", `{"customerId":"ada","refundTransactionId":"rf-x","reverseTransactionId":"o-1",
		"transactionTime":"2026-01-01T08:00:00Z","refundAmount":0.001}`, 422, 3003, "refundAmount")
	p.failsRaw(t, http.MethodPost, "/transactions/refund", `{"customerId":"ada","refundTransactionId":"rf-x",
		"transactionTime":"2026-01-01T08:00:00Z"}`, 400, 3000, "reverseTransactionId")

	r, err = refund("rf-2", "o-1", "")
	if err != nil || r.PointsTakenBack != 100 || r.RefundAmount != "9.99" {
		t.Fatalf("rest of the refund: %+v %v", r, err)
	}
	p.fails(t, 422, 9001, func() error { _, err := refund("rf-x", "o-1", ""); return err })
	// Refunding a redemption gives its points back.
	r, err = refund("rf-3", "r-hold", "")
	if err != nil || r.PointsReturned != 200 || r.PointsTakenBack != 0 {
		t.Fatalf("refund of a redemption: %+v %v", r, err)
	}
	b := p.wantBalance(t, "ada", 501, 501, 0, 0)
	if b.TotalEarnedPoints != 199+500+300+100-199 {
		t.Fatalf("lifetime earned %d", b.TotalEarnedPoints)
	}
	txs, err := c.OrderTransactions(ctx, "o-1")
	if err != nil || txs.Count != 3 || txs.Transactions[1].TransactionType != "Cancel" || txs.Transactions[2].EquivalentPoints != 100 {
		t.Fatalf("order transactions after refunds: %+v %v", txs, err)
	}
}

func testPendingAndActivate(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	prog, err := c.Program(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prog.ReturnWindowDays = 14
	if _, err := c.SetProgram(ctx, prog); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"o-2", "o-3"} {
		res, err := c.Order(ctx, client.OrderRequest{CustomerID: "cy", OrderID: id, OrderDate: p.now(), TotalPaid: "10"})
		if err != nil || res.Status != "Pending" || !res.AvailableAt.Equal(p.now().Add(14*24*time.Hour)) {
			t.Fatalf("pending order: %+v %v", res, err)
		}
	}
	p.wantBalance(t, "cy", 200, 0, 200, 0)
	p.failsRaw(t, http.MethodPost, "/transactions/redeem", `{"customerId":"cy","transactionId":"r-x","transactionTime":"2026-01-01T08:00:00Z","points":1}`,
		422, 9008, "")
	a, err := c.Activate(ctx, "o-2")
	if err != nil || a.PointsActivated != 100 || a.ClientTransactionID != "o-2" || a.GameballTransactionID == 0 {
		t.Fatalf("activate: %+v %v", a, err)
	}
	p.wantBalance(t, "cy", 200, 100, 100, 0)
	p.fails(t, 404, 9002, func() error { _, err := c.Activate(ctx, "nope"); return err })
	p.env.Clock.Advance(14 * 24 * time.Hour) // the return window of o-3 ends with nobody calling
	p.wantBalance(t, "cy", 200, 200, 0, 0)
	prog.ReturnWindowDays = 0
	if _, err := c.SetProgram(ctx, prog); err != nil {
		t.Fatal(err)
	}
}

func testExpiry(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	prog, err := c.Program(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prog.PointsExpiryDays = 30
	if _, err := c.SetProgram(ctx, prog); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Manual(ctx, client.ManualRequest{CustomerID: "eve", TransactionID: "e-1", Points: client.Points(70)}); err != nil {
		t.Fatal(err)
	}
	b := p.wantBalance(t, "eve", 70, 70, 0, 0)
	if b.NextExpiringPointsAmount != 70 || b.NextExpiringPointsDate == nil || !b.NextExpiringPointsDate.Equal(p.now().Add(30*24*time.Hour)) {
		t.Fatalf("next expiry: %+v", b)
	}
	p.env.Clock.Advance(30 * 24 * time.Hour)
	p.wantBalance(t, "eve", 0, 0, 0, 0)
	page, err := c.Transactions(ctx, client.TransactionQuery{CustomerID: "eve", Status: "Expired"})
	if err != nil || page.Count != 1 || page.Transactions[0].TransactionID != "e-1" {
		t.Fatalf("expired transactions: %+v %v", page, err)
	}
	prog.PointsExpiryDays = 0
	if _, err := c.SetProgram(ctx, prog); err != nil {
		t.Fatal(err)
	}
}

func testTransactionList(t *testing.T, p *pointsEnv) {
	c := p.a.Client
	var all []client.Transaction
	q := client.TransactionQuery{CustomerID: "ada", Limit: 3}
	for {
		page, err := c.Transactions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Transactions...)
		if !page.HasMore {
			break
		}
		q.StartAfter = page.NextCursor
	}
	var net int64
	for _, tr := range all {
		if tr.CustomerID != "ada" {
			t.Fatalf("another customer's transaction: %+v", tr)
		}
		if tr.Direction == "-" {
			net -= tr.Points
		} else {
			net += tr.Points
		}
	}
	if b, _ := p.balance(t, "ada"); net != b.TotalPointsBalance || len(all) < 10 || all[0].TransactionID != "o-1" {
		t.Fatalf("%d transactions adding up to %d, balance %d", len(all), net, b.TotalPointsBalance)
	}
	redemptions, err := c.Transactions(ctx, client.TransactionQuery{Type: "Redemption", Direction: "-"})
	if err != nil || redemptions.Count != 4 {
		t.Fatalf("redemptions: %+v %v", redemptions, err)
	}
	// "+" unescaped in a query string reads as a space; the server takes it as meant.
	var plus client.TransactionPage
	if err := c.Send(ctx, client.Request{Method: http.MethodGet, Path: "/transactions?direction=+&customerId=eve"}, &plus); err != nil || plus.Count != 1 {
		t.Fatalf("direction=+: %+v %v", plus, err)
	}
	future, err := c.Transactions(ctx, client.TransactionQuery{From: p.now().Add(time.Hour)})
	if err != nil || future.Count != 0 {
		t.Fatalf("transactions from the future: %+v %v", future, err)
	}
	for _, bad := range []struct {
		query        string
		status, code int
		field        string
	}{
		{"status=Lost", 422, 3003, "status"},
		{"type=Gift", 422, 3003, "type"},
		{"direction=up", 422, 3003, "direction"},
		{"limit=0", 422, 3003, "limit"},
		{"startAfter=x", 422, 3003, "startAfter"},
		{"from=yesterday", 422, 3003, "from"},
		{"customerId=ghost", 404, 7000, ""},
	} {
		e := wantError(t, c.Send(ctx, client.Request{Method: http.MethodGet, Path: "/transactions?" + bad.query}, nil), bad.status, bad.code)
		if bad.field != "" && (len(e.Errors) == 0 || e.Errors[0].Field != bad.field) {
			t.Fatalf("%s: errors %+v, want field %q", bad.query, e.Errors, bad.field)
		}
	}
	_, err = p.a.PublicKey.Transactions(ctx, client.TransactionQuery{})
	wantError(t, err, http.StatusUnauthorized, 1001)
	_, err = p.a.PublicKey.Balance(ctx, "ada")
	wantError(t, err, http.StatusUnauthorized, 1001)
	_, err = c.Balance(ctx, "ghost")
	wantError(t, err, http.StatusNotFound, 7000)
	var rawBalance map[string]json.RawMessage
	if err := c.Do(ctx, http.MethodGet, "/customers/ada/balance", nil, &rawBalance); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"totalPointsBalance", "totalPointsValue", "availablePointsBalance", "availablePointsValue",
		"pendingPoints", "pendingPointsValue", "currency", "pointsName", "nextExpiringPointsAmount", "nextExpiringPointsValue",
		"nextExpiringPointsDate", "totalEarnedPoints"} {
		if _, ok := rawBalance[field]; !ok {
			t.Errorf("the balance lacks %s: %v", field, rawBalance)
		}
	}
}
