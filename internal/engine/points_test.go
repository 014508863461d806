package engine_test

import (
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
)

const day = 24 * time.Hour

// Cashback rounds down: 10% of 19.99 USD is 1.999 USD, worth 199 points at 0.01 USD a point.
func testCashbackRoundsDown(t *testing.T, l *ledger) {
	res := must(t, l, l.e.Order, order("ada", "o-1", "19.99"))
	if res.RewardedPoints != 199 || res.Status != loyalty.StatusActive {
		t.Fatalf("order: %+v", res)
	}
	cb := must(t, l, l.e.Cashback, &loyalty.CashbackRequest{CustomerID: "ada", TransactionID: "cb-1",
		TransactionTime: ts(start), Amount: "0.09"})
	if cb.RewardEquivalentPoints != 0 || cb.RewardAmount != "0" {
		t.Fatalf("cashback of 0.09: %+v", cb)
	}
	b := l.wantPoints(t, "ada", 199, 199, 0, 0)
	if b.TotalPointsValue != "1.99" || b.TotalEarnedPoints != 199 || b.Currency != "USD" {
		t.Fatalf("balance: %+v", b)
	}
}

func testPendingBecomesAvailableAndActivate(t *testing.T, l *ledger) {
	l.setProgram(t, l.tenant, func(p *loyalty.Program) { p.ReturnWindowDays = 14 })
	res := must(t, l, l.e.Order, order("ada", "o-1", "100"))
	if res.Status != loyalty.StatusPending || !res.AvailableAt.Equal(start.Add(14*day)) {
		t.Fatalf("order: %+v", res)
	}
	must(t, l, l.e.Order, order("ada", "o-2", "50"))
	l.wantPoints(t, "ada", 1500, 0, 1500, 0)
	_, err := run(l, l.tenant, l.e.Redeem, redeem("ada", "r-1", 1))
	wantCode(t, err, loyalty.CodeInsufficient)

	l.clock.Advance(14*day - time.Microsecond)
	l.wantPoints(t, "ada", 1500, 0, 1500, 0)
	act := must(t, l, l.e.Activate, &loyalty.ActivateRequest{TransactionID: "o-2"})
	if act.PointsActivated != 500 || act.ClientTransactionID != "o-2" {
		t.Fatalf("activate: %+v", act)
	}
	l.wantPoints(t, "ada", 1500, 500, 1000, 0)
	if again := must(t, l, l.e.Activate, &loyalty.ActivateRequest{TransactionID: "o-2"}); again.PointsActivated != 0 {
		t.Fatalf("second activation: %+v", again)
	}
	l.clock.Advance(time.Microsecond) // the return window of o-1 ends: nobody has to do anything
	l.wantPoints(t, "ada", 1500, 1500, 0, 0)
	_, err = run(l, l.tenant, l.e.Activate, &loyalty.ActivateRequest{TransactionID: "nope"})
	wantCode(t, err, loyalty.CodeTransactionUnknown)
}

// Points are spent and expire first-to-expire first, expire at their time with nobody calling, and
// the expiry is recorded by the customer's next change so that entries add up to the balance.
func testExpiryFirstExpiringFirst(t *testing.T, l *ledger) {
	l.setProgram(t, l.tenant, func(p *loyalty.Program) { p.PointsExpiryDays = 30 })
	must(t, l, l.e.Manual, manual("ada", "a", 100)) // expires day 30
	l.clock.Advance(10 * day)
	must(t, l, l.e.Manual, manual("ada", "b", 100)) // expires day 40
	must(t, l, l.e.Manual, &loyalty.ManualRequest{CustomerID: "ada", TransactionID: "c", Points: ptr[int64](100),
		ExpiryAfter: ptr(5)}) // expires day 15
	b := l.wantPoints(t, "ada", 300, 300, 0, 0)
	if b.NextExpiringPointsAmount != 100 || !b.NextExpiringPointsDate.Equal(start.Add(15*day)) {
		t.Fatalf("next expiry: %d at %v", b.NextExpiringPointsAmount, b.NextExpiringPointsDate)
	}
	must(t, l, l.e.Redeem, redeem("ada", "r-1", 150)) // all of c, then 50 of a
	l.wantPoints(t, "ada", 150, 150, 0, 0)
	l.clock.Advance(20 * day) // day 30: a's last 50 expire
	b = l.wantPoints(t, "ada", 100, 100, 0, 0)
	if b.NextExpiringPointsAmount != 100 || !b.NextExpiringPointsDate.Equal(start.Add(40*day)) {
		t.Fatalf("next expiry: %d at %v", b.NextExpiringPointsAmount, b.NextExpiringPointsDate)
	}
	s := readState(t, l, l.tenant)
	var sum int64
	for _, v := range s.byCust {
		sum += v
	}
	if sum != 150 {
		t.Fatalf("entries add up to %d before the expiry is recorded, want 150", sum)
	}
	must(t, l, l.e.Manual, manual("ada", "d", 1)) // any change records the expiry
	l.wantPoints(t, "ada", 101, 101, 0, 0)
	s = readState(t, l, l.tenant)
	for _, v := range s.byCust {
		if v != 101 {
			t.Fatalf("entries add up to %d after the change, want 101", v)
		}
	}
	page := must(t, l, l.e.Transactions, &loyalty.TransactionQuery{Type: loyalty.KindExpiry})
	if page.Count != 1 || page.Transactions[0].Points != 50 || !page.Transactions[0].TransactionTime.Equal(start.Add(30*day)) {
		t.Fatalf("expiry transactions: %+v", page.Transactions)
	}
	// A credit's status is Expired once its expiry time passed, whether or not points were left.
	if got := must(t, l, l.e.Transactions, &loyalty.TransactionQuery{Status: loyalty.StatusExpired}); got.Count != 2 ||
		got.Transactions[0].TransactionID != "a" || got.Transactions[1].TransactionID != "c" {
		t.Fatalf("expired credits: %+v", got.Transactions)
	}
}

func testHolds(t *testing.T, l *ledger) {
	l.setProgram(t, l.tenant, func(p *loyalty.Program) { p.PointsExpiryDays = 1; p.HoldMinutes = 60 })
	must(t, l, l.e.Manual, manual("ada", "a", 100)) // expires in a day
	l.clock.Advance(day - 20*time.Minute)
	_, err := run(l, l.tenant, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ada", TransactionTime: ts(start), PointsToHold: ptr[int64](101)})
	wantCode(t, err, loyalty.CodeInsufficient)
	h := must(t, l, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ada", TransactionTime: ts(start), AmountToHold: num("0.6")})
	if h.HoldEquivalentPoints != 60 || h.HoldAmount != "0.6" || h.State != loyalty.HoldActive {
		t.Fatalf("hold: %+v", h)
	}
	l.wantPoints(t, "ada", 100, 40, 0, 60)
	_, err = run(l, l.tenant, l.e.Redeem, redeem("ada", "r-1", 41))
	wantCode(t, err, loyalty.CodeInsufficient)

	// The points expire while held: the held 60 stay until the hold ends, the other 40 go.
	l.clock.Advance(30 * time.Minute)
	l.wantPoints(t, "ada", 60, 0, 0, 60)
	r := must(t, l, l.e.Redeem, &loyalty.RedeemRequest{CustomerID: "ada", TransactionID: "r-2", TransactionTime: ts(start),
		HoldReference: h.HoldReference})
	if r.RedeemEquivalentPoints != 60 || r.RedeemAmount != "0.6" {
		t.Fatalf("redeem hold: %+v", r)
	}
	l.wantPoints(t, "ada", 0, 0, 0, 0)
	_, err = run(l, l.tenant, l.e.Redeem, &loyalty.RedeemRequest{CustomerID: "ada", TransactionID: "r-3", TransactionTime: ts(start),
		HoldReference: h.HoldReference})
	wantCode(t, err, loyalty.CodeHoldNotFound)
	got := must(t, l, l.e.GetHold, &loyalty.HoldReferenceRequest{HoldReference: h.HoldReference})
	if got.State != loyalty.HoldUsed {
		t.Fatalf("used hold: %+v", got)
	}

	// A hold lapses at its time; a lapsed hold can be neither redeemed nor released.
	must(t, l, l.e.Manual, manual("ada", "b", 100))
	h2 := must(t, l, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ada", TransactionTime: ts(start), PointsToHold: ptr[int64](30)})
	l.wantPoints(t, "ada", 100, 70, 0, 30)
	l.clock.Advance(time.Hour)
	l.wantPoints(t, "ada", 100, 100, 0, 0)
	if got := must(t, l, l.e.GetHold, &loyalty.HoldReferenceRequest{HoldReference: h2.HoldReference}); got.State != loyalty.HoldExpired {
		t.Fatalf("lapsed hold: %+v", got)
	}
	_, err = run(l, l.tenant, l.e.ReleaseHold, &loyalty.HoldReferenceRequest{HoldReference: h2.HoldReference})
	wantCode(t, err, loyalty.CodeHoldNotFound)

	// Released, the points are available again, and the hold cannot be used.
	h3 := must(t, l, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ada", TransactionTime: ts(start), PointsToHold: ptr[int64](30)})
	must(t, l, l.e.ReleaseHold, &loyalty.HoldReferenceRequest{HoldReference: h3.HoldReference})
	l.wantPoints(t, "ada", 100, 100, 0, 0)
	_, err = run(l, l.tenant, l.e.Redeem, &loyalty.RedeemRequest{CustomerID: "ada", TransactionID: "r-4", TransactionTime: ts(start),
		HoldReference: h3.HoldReference})
	wantCode(t, err, loyalty.CodeHoldNotFound)
	// Another customer cannot use a hold.
	must(t, l, l.e.Manual, manual("bob", "c", 100))
	h4 := must(t, l, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ada", TransactionTime: ts(start), PointsToHold: ptr[int64](30)})
	_, err = run(l, l.tenant, l.e.Redeem, &loyalty.RedeemRequest{CustomerID: "bob", TransactionID: "r-5", TransactionTime: ts(start),
		HoldReference: h4.HoldReference})
	wantCode(t, err, loyalty.CodeHoldNotFound)
}

func testOrderRedeemsHold(t *testing.T, l *ledger) {
	must(t, l, l.e.Manual, manual("ada", "a", 500))
	h := must(t, l, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ada", TransactionTime: ts(start), PointsToHold: ptr[int64](200)})
	req := order("ada", "o-1", "98")
	req.Redemption = &loyalty.OrderRedemption{PointsHoldReference: h.HoldReference}
	req.LineItems = []loyalty.LineItem{{ProductID: "p-1", Quantity: "2", Price: num("49")}}
	// Not this customer's hold: nothing is written, not even the unknown customer.
	other := *req
	other.CustomerID, other.OrderID = "stranger", "o-0"
	_, err := run(l, l.tenant, l.e.Order, &other)
	wantCode(t, err, loyalty.CodeHoldNotFound)
	_, err = run(l, l.tenant, l.e.BalanceInquiry, &loyalty.BalanceRequest{CustomerID: "stranger"})
	wantCode(t, err, loyalty.CodeCustomerNotFound)

	res := must(t, l, l.e.Order, req)
	if res.RewardedPoints != 980 || res.RedeemedPoints != 200 {
		t.Fatalf("order: %+v", res)
	}
	l.wantPoints(t, "ada", 1280, 1280, 0, 0)
	txs := must(t, l, l.e.OrderTransactions, &loyalty.OrderTransactionsRequest{OrderID: "o-1"})
	if txs.Count != 2 || txs.Transactions[0].TransactionType != loyalty.KindPaymentReward ||
		txs.Transactions[1].TransactionType != loyalty.KindRedemption || txs.Transactions[1].EquivalentPoints != 200 {
		t.Fatalf("order transactions: %+v", txs)
	}
	_, err = run(l, l.tenant, l.e.Order, order("ada", "o-1", "1"))
	wantCode(t, err, loyalty.CodeDuplicate)
	_, err = run(l, l.tenant, l.e.Cashback, &loyalty.CashbackRequest{CustomerID: "ada", TransactionID: "o-1",
		TransactionTime: ts(start), Amount: "1"})
	wantCode(t, err, loyalty.CodeDuplicate)
	l.wantPoints(t, "ada", 1280, 1280, 0, 0)
}

// Partial refunds take back earned points and give back redeemed points in proportion, rounding
// down, and all refunds together settle exactly what was earned and spent.
func testRefunds(t *testing.T, l *ledger) {
	must(t, l, l.e.Manual, manual("ada", "seed", 1000))
	h := must(t, l, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ada", TransactionTime: ts(start), PointsToHold: ptr[int64](300)})
	req := order("ada", "o-1", "19.99") // earns 199
	req.Redemption = &loyalty.OrderRedemption{PointsHoldReference: h.HoldReference}
	must(t, l, l.e.Order, req)
	l.wantPoints(t, "ada", 899, 899, 0, 0)

	refund := func(id, amount string) (engine.RefundResult, error) {
		r := &loyalty.RefundRequest{CustomerID: "ada", RefundTransactionID: id, ReverseTransactionID: "o-1", TransactionTime: ts(start)}
		if amount != "" {
			r.RefundAmount = num(amount)
		}
		return run(l, l.tenant, l.e.Refund, r)
	}
	r1, err := refund("rf-1", "10")
	if err != nil || r1.PointsTakenBack != 99 || r1.PointsReturned != 150 || r1.RefundAmount != "10" {
		t.Fatalf("first refund: %+v %v", r1, err) // floor(199×1000/1999) = 99, floor(300×1000/1999) = 150
	}
	_, err = refund("rf-2", "10")
	wantCode(t, err, loyalty.CodeInvalidValue) // only 9.99 is left
	_, err = refund("rf-1", "1")
	wantCode(t, err, loyalty.CodeDuplicate)
	r3, err := refund("rf-3", "")
	if err != nil || r3.PointsTakenBack != 100 || r3.PointsReturned != 150 || r3.RefundAmount != "9.99" {
		t.Fatalf("rest refund: %+v %v", r3, err)
	}
	l.wantPoints(t, "ada", 1000, 1000, 0, 0) // as before the order
	_, err = refund("rf-4", "")
	wantCode(t, err, loyalty.CodeAlreadyRefunded)
	if b := l.balance(t, "ada"); b.TotalEarnedPoints != 1000 {
		t.Fatalf("lifetime earned %d, want 1000", b.TotalEarnedPoints)
	}

	// Earned points already spent are taken from the rest of the balance, never below zero.
	must(t, l, l.e.Cashback, &loyalty.CashbackRequest{CustomerID: "bob", TransactionID: "cb", TransactionTime: ts(start), Amount: "50"})
	must(t, l, l.e.Redeem, redeem("bob", "spend", 450))
	_, err = run(l, l.tenant, l.e.Refund, &loyalty.RefundRequest{CustomerID: "ada", RefundTransactionID: "rf-5",
		ReverseTransactionID: "cb", TransactionTime: ts(start)})
	wantCode(t, err, loyalty.CodeReversedNotFound) // not ada's
	rb, err := run(l, l.tenant, l.e.Refund, &loyalty.RefundRequest{CustomerID: "bob", RefundTransactionID: "rf-6",
		ReverseTransactionID: "cb", TransactionTime: ts(start)})
	if err != nil || rb.PointsTakenBack != 50 {
		t.Fatalf("refund of spent cashback: %+v %v", rb, err)
	}
	l.wantPoints(t, "bob", 0, 0, 0, 0)
	_, err = run(l, l.tenant, l.e.Refund, &loyalty.RefundRequest{CustomerID: "bob", RefundTransactionID: "rf-7",
		ReverseTransactionID: "spend", TransactionTime: ts(start), RefundAmount: num("1")})
	if err != nil {
		t.Fatal(err)
	}
	l.wantPoints(t, "bob", 100, 100, 0, 0) // 1.00 of the 4.50 redeemed gives back 100 of 450 points
	_, err = run(l, l.tenant, l.e.Refund, &loyalty.RefundRequest{CustomerID: "ada", RefundTransactionID: "rf-8",
		ReverseTransactionID: "seed", TransactionTime: ts(start)})
	wantCode(t, err, loyalty.CodeNotReversible)
}

// Nothing changes when an operation fails, and earning operations are the only ones that create
// customers.
func testFailuresChangeNothing(t *testing.T, l *ledger) {
	for _, err := range []error{
		second(run(l, l.tenant, l.e.Redeem, redeem("ghost", "r", 1))),
		second(run(l, l.tenant, l.e.Manual, manual("ghost", "m", -1))),
		second(run(l, l.tenant, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ghost", TransactionTime: ts(start), PointsToHold: ptr[int64](1)})),
		second(run(l, l.tenant, l.e.BalanceInquiry, &loyalty.BalanceRequest{CustomerID: "ghost"})),
	} {
		wantCode(t, err, loyalty.CodeCustomerNotFound)
	}
	res := must(t, l, l.e.Manual, manual("ghost", "m", 5))
	if res.Points != 5 || res.Amount != "0.05" {
		t.Fatalf("manual: %+v", res)
	}
	_, err := run(l, l.tenant, l.e.Manual, manual("ghost", "m2", -6))
	wantCode(t, err, loyalty.CodeInsufficient)
	_, err = run(l, l.tenant, l.e.Manual, &loyalty.ManualRequest{CustomerID: "ghost", Amount: num("0.001")})
	wantCode(t, err, loyalty.CodeInvalidValue) // more decimals than USD has
	l.wantPoints(t, "ghost", 5, 5, 0, 0)
	page := must(t, l, l.e.Transactions, &loyalty.TransactionQuery{CustomerID: "ghost"})
	if page.Count != 1 {
		t.Fatalf("transactions: %+v", page)
	}
	gen := must(t, l, l.e.Manual, &loyalty.ManualRequest{CustomerID: "ghost", Amount: num("-0.05")})
	if gen.TransactionID == "" || gen.Points != -5 || gen.Amount != "-0.05" {
		t.Fatalf("deduction without transactionId: %+v", gen)
	}
	l.wantPoints(t, "ghost", 0, 0, 0, 0)
}

func second[T any](_ T, err error) error { return err }

func testProgramChangesApplyLater(t *testing.T, l *ledger) {
	must(t, l, l.e.Order, order("ada", "o-1", "10"))
	l.setProgram(t, l.tenant, func(p *loyalty.Program) {
		p.Cashback.RatePercent = "5"
		p.ReturnWindowDays = 7
	})
	must(t, l, l.e.Order, order("ada", "o-2", "10"))
	l.wantPoints(t, "ada", 150, 100, 50, 0)
	page := must(t, l, l.e.Transactions, &loyalty.TransactionQuery{CustomerID: "ada", Status: loyalty.StatusPending})
	if page.Count != 1 || page.Transactions[0].TransactionID != "o-2" {
		t.Fatalf("pending: %+v", page)
	}
	other := l.newTenant(t, "other")
	if _, err := run(l, other, l.e.BalanceInquiry, &loyalty.BalanceRequest{CustomerID: "ada"}); err == nil {
		t.Fatal("another tenant sees the customer")
	}
	l.setProgram(t, l.tenant, func(p *loyalty.Program) { p.Cashback.Enabled = false })
	_, err := run(l, l.tenant, l.e.Cashback, &loyalty.CashbackRequest{CustomerID: "ada", TransactionID: "cb",
		TransactionTime: ts(start), Amount: "1"})
	wantCode(t, err, loyalty.CodeCashbackDisabled)
}

func testTransactionsPaging(t *testing.T, l *ledger) {
	for i := range 5 {
		must(t, l, l.e.Manual, manual("ada", "m-"+string(rune('a'+i)), int64(i+1)))
		l.clock.Advance(time.Hour)
	}
	must(t, l, l.e.Redeem, redeem("ada", "r", 3))
	var ids []string
	q := &loyalty.TransactionQuery{Limit: 2}
	for {
		page := must(t, l, l.e.Transactions, q)
		for _, tr := range page.Transactions {
			ids = append(ids, tr.TransactionID)
		}
		if !page.HasMore {
			break
		}
		q.StartAfter = page.NextCursor
	}
	if len(ids) != 6 || ids[0] != "m-a" || ids[5] != "r" {
		t.Fatalf("pages: %v", ids)
	}
	minus := must(t, l, l.e.Transactions, &loyalty.TransactionQuery{Direction: "-"})
	if minus.Count != 1 || minus.Transactions[0].Points != 3 || minus.Transactions[0].Type != loyalty.KindRedemption {
		t.Fatalf("deductions: %+v", minus)
	}
	window := must(t, l, l.e.Transactions, &loyalty.TransactionQuery{From: ts(start.Add(time.Hour)), To: ts(start.Add(3 * time.Hour)),
		Type: loyalty.KindManualAccumulation})
	if window.Count != 2 {
		t.Fatalf("time window: %+v", window)
	}
	_, err := run(l, l.tenant, l.e.Transactions, &loyalty.TransactionQuery{Status: "Lost"})
	wantCode(t, err, loyalty.CodeInvalidValue)
}
