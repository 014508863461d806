package engine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/money"
	"github.com/tally-loyalty/tally/internal/store"
)

// testLedgerInvariants runs random sequences of operations with time moving, each sequence on a fresh
// tenant, and after every step checks the ledger's invariants against the database itself:
//   - each lot's points left are the sum of its entries, between zero and what it was credited;
//   - the engine's balances equal those computed here from the lots and holds, and none is negative;
//   - active holds reserve points of available lots and never more than those lots have left;
//   - a hold is redeemed at most once;
//   - refunds never take back more than was earned nor give back more than was redeemed;
//   - lifetime earned points are what the earning and cancel transactions add up to.
//
// It also checks each operation's outcome against the balances read just before it: whether it had
// to succeed or fail, by how much it moved the balances, and that a failed operation wrote nothing.
// The number of sequences is rapid's -rapid.checks (set low in TestMain to keep the suite fast).
func testLedgerInvariants(t *testing.T, db *store.DB) {
	rapid.Check(t, func(rt *rapid.T) {
		m := &model{l: newLedger(rt, db), used: map[string]int{}, cashback: true}
		m.last = m.snap(rt)
		rt.Repeat(m.actions())
	})
}

// model is what a test sequence knows besides the database: the ids it used, the holds it made, and
// the ledger as read after the last step.
type model struct {
	l          *ledger
	seq        int
	ids        []string // transaction ids recorded
	refundable []string // orders, cashbacks and redemptions
	owner      map[string]string
	credits    []string // transactions that credited points
	holds      []held
	used       map[string]int // hold reference -> successful redemptions with it
	cashback   bool           // the program's cashback is enabled
	last       snapshot       // the ledger before the step being run
	// then, when set, checks the outcome of the step just run against the ledger before and after it.
	then func(t *rapid.T, before, after snapshot)
}

type held struct{ ref, customer string }

var customers = []string{"c0", "c1", "c2"}

func (m *model) nextID(prefix string) string {
	m.seq++
	return fmt.Sprintf("%s-%d", prefix, m.seq)
}

func (m *model) recorded(id, customer string, refundable, credit bool) {
	m.ids = append(m.ids, id)
	if m.owner == nil {
		m.owner = map[string]string{}
	}
	m.owner[id] = customer
	if refundable {
		m.refundable = append(m.refundable, id)
	}
	if credit {
		m.credits = append(m.credits, id)
	}
}

// bal is a customer's (total, available, pending, held) points.
type bal [4]int64

// snapshot is the ledger read with plain SQL in one transaction, the balances computed here from it,
// and what the engine says in the same transaction.
type snapshot struct {
	state  ledgerState
	now    int64
	bals   map[string]bal // by customerId, for customers that exist
	holds  map[string]store.Hold
	engine map[string]engine.BalanceResult
	// refunds are the originals that refunds can reverse, with what their refunds moved.
	refunds []refunded
	earned  map[string]int64 // lifetime earned: the earning and cancel transactions added up
}

type refunded struct {
	id, points, amount, refundedAmount, reversed int64
	kind                                         string
}

func (m *model) snap(t *rapid.T) snapshot {
	t.Helper()
	s := snapshot{now: store.Micros(m.l.clock.Now()), bals: map[string]bal{}, holds: map[string]store.Hold{},
		engine: map[string]engine.BalanceResult{}, earned: map[string]int64{}}
	err := m.l.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if s.state, err = readStateTx(tx, m.l.tenant); err != nil {
			return err
		}
		for name := range s.state.customers {
			if s.engine[name], err = m.l.e.Balance(ctx, tx, m.l.tenant, name); err != nil {
				return err
			}
		}
		return readRefundsAndEarned(tx, m.l.tenant, &s)
	})
	if err != nil {
		t.Fatalf("read the ledger: %v", err)
	}
	reserved := map[int64]int64{}
	heldBy := map[int64]int64{}
	for _, h := range s.state.holds {
		s.holds[h.Reference] = h
		if h.Status == store.HoldStatusActive && h.ExpiresAt > s.now {
			for _, a := range h.Allocation {
				reserved[a.Lot] += a.Points
			}
			heldBy[h.CustomerRef] += h.Points
		}
	}
	total, pending := map[int64]int64{}, map[int64]int64{}
	for _, l := range s.state.lots {
		switch {
		case l.expiresAt <= s.now:
			total[l.customer] += reserved[l.id]
		case l.availableAt > s.now:
			total[l.customer] += l.remaining
			pending[l.customer] += l.remaining
		default:
			total[l.customer] += l.remaining
		}
	}
	for name, ref := range s.state.customers {
		s.bals[name] = bal{total[ref], total[ref] - pending[ref] - heldBy[ref], pending[ref], heldBy[ref]}
	}
	return s
}

func readRefundsAndEarned(tx *store.Tx, tenant int64, s *snapshot) error {
	rows, err := tx.Query(ctx, `SELECT o.id, o.kind, o.points, o.amount, o.refunded_amount,
			COALESCE((SELECT SUM(r.points) FROM point_transactions r WHERE r.reverses = o.id AND r.kind <> ?), 0)
		FROM point_transactions o WHERE o.tenant_id = ? AND o.kind IN (?, ?)`,
		loyalty.KindExpiry, tenant, loyalty.KindPaymentReward, loyalty.KindRedemption)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r refunded
		if err := rows.Scan(&r.id, &r.kind, &r.points, &r.amount, &r.refundedAmount, &r.reversed); err != nil {
			return err
		}
		s.refunds = append(s.refunds, r)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	kinds := append([]string{loyalty.KindCancel}, loyalty.EarningKinds...)
	args := []any{}
	for _, k := range kinds {
		args = append(args, k)
	}
	rows, err = tx.Query(ctx, `SELECT c.customer_id, COALESCE(SUM(t.points), 0) FROM customers c
			LEFT JOIN point_transactions t ON t.customer_ref = c.id AND t.kind IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ")+`)
		WHERE c.tenant_id = ? GROUP BY c.customer_id`, append(args, tenant)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var sum int64
		if err := rows.Scan(&name, &sum); err != nil {
			return err
		}
		s.earned[name] = sum
	}
	return rows.Err()
}

// activeHold reports whether the hold is active at the snapshot and belongs to the customer.
func (s snapshot) activeHold(ref, customer string) bool {
	h, ok := s.holds[ref]
	return ok && h.Status == store.HoldStatusActive && h.ExpiresAt > s.now && h.CustomerRef == s.state.customers[customer]
}

// check reads the ledger after a step, checks the step's outcome and asserts the invariants.
func (m *model) check(t *rapid.T) {
	t.Helper()
	s := m.snap(t)
	if m.then != nil {
		m.then(t, m.last, s)
		m.then = nil
	}
	m.last = s
	remaining := map[int64]int64{}
	lotLeft := map[int64]int64{}
	available := map[int64]bool{}
	for _, l := range s.state.lots {
		if l.remaining < 0 || l.remaining > l.points || l.remaining != s.state.entries[l.id] {
			t.Fatalf("lot %d: credited %d, %d left, entries add up to %d", l.id, l.points, l.remaining, s.state.entries[l.id])
		}
		remaining[l.customer] += l.remaining
		lotLeft[l.id] = l.remaining
		available[l.id] = l.availableAt <= s.now
	}
	for ref, sum := range s.state.byCust {
		if sum != remaining[ref] {
			t.Fatalf("customer %d: entries add up to %d, lots hold %d", ref, sum, remaining[ref])
		}
	}
	reserved := map[int64]int64{}
	for _, h := range s.state.holds {
		var sum int64
		for _, a := range h.Allocation {
			sum += a.Points
			if h.Status == store.HoldStatusActive && h.ExpiresAt > s.now {
				reserved[a.Lot] += a.Points
				if !available[a.Lot] {
					t.Fatalf("active hold %s reserves points of lot %d, which is not available", h.Reference, a.Lot)
				}
			}
		}
		if sum != h.Points {
			t.Fatalf("hold %s of %d points allocates %d", h.Reference, h.Points, sum)
		}
	}
	for lot, n := range reserved {
		if n > lotLeft[lot] {
			t.Fatalf("active holds reserve %d points of lot %d, which has %d left", n, lot, lotLeft[lot])
		}
	}
	for name, want := range s.bals {
		for _, v := range want {
			if v < 0 {
				t.Fatalf("%s: negative balance %v", name, want)
			}
		}
		b := s.engine[name]
		if got := bal(points(b)); got != want {
			t.Fatalf("%s: engine says (total, available, pending, held) = %v, the ledger %v", name, got, want)
		}
		if b.TotalEarnedPoints != s.earned[name] {
			t.Fatalf("%s: lifetime earned %d, the transactions add up to %d", name, b.TotalEarnedPoints, s.earned[name])
		}
	}
	for ref, n := range m.used {
		if n > 1 {
			t.Fatalf("hold %s redeemed %d times", ref, n)
		}
	}
	for _, r := range s.refunds {
		bad := r.refundedAmount < 0 || r.refundedAmount > r.amount ||
			r.kind == loyalty.KindPaymentReward && (r.reversed > 0 || -r.reversed > r.points) ||
			r.kind == loyalty.KindRedemption && (r.reversed < 0 || r.reversed > -r.points)
		if bad {
			t.Fatalf("%s %d of %d points and %d money: %d money refunded, refunds moved %d points",
				r.kind, r.id, r.points, r.amount, r.refundedAmount, r.reversed)
		}
	}
}

// expect runs one operation, which must succeed when ok and otherwise fail with one of the codes.
// A failure must leave the ledger as it was; a success is checked by then, if given, against the
// ledger before and after.
func expect[Req, Res any](t *rapid.T, m *model, op engine.Op[Req, Res], req *Req, ok bool, then func(t *rapid.T, res Res, before, after snapshot), codes ...loyalty.Code) Res {
	t.Helper()
	res, err := run(m.l, m.l.tenant, op, req)
	switch {
	case err == nil && !ok:
		t.Fatalf("%T %+v succeeded, want one of %v", req, req, codes)
	case err != nil && ok:
		t.Fatalf("%T %+v: %v", req, req, err)
	case err != nil:
		e, isCoded := loyalty.AsError(err)
		if !isCoded || !slices.Contains(codes, e.Code) {
			t.Fatalf("%T %+v: %v, want one of %v", req, req, err, codes)
		}
		m.then = func(t *rapid.T, before, after snapshot) {
			if !reflect.DeepEqual(before.state, after.state) {
				t.Fatalf("%T %+v failed (%v) but changed the ledger", req, req, err)
			}
		}
	case then != nil:
		m.then = func(t *rapid.T, before, after snapshot) { then(t, res, before, after) }
	}
	return res
}

// wantDelta asserts how a step moved a customer's (total, available, pending, held).
func wantDelta(t *rapid.T, what, customer string, before, after snapshot, delta bal) {
	t.Helper()
	b, a := before.bals[customer], after.bals[customer]
	for i := range a {
		if a[i]-b[i] != delta[i] {
			t.Fatalf("%s for %s moved (total, available, pending, held) from %v to %v, want by %v", what, customer, b, a, delta)
		}
	}
}

func amountText(cents int) string { return money.FormatMinor(int64(cents), 2) }

func (m *model) actions() map[string]func(*rapid.T) {
	customer := rapid.SampledFrom(customers)
	return map[string]func(*rapid.T){
		"": m.check,
		"advance": func(t *rapid.T) {
			d := rapid.SampledFrom([]time.Duration{time.Minute, 9 * time.Minute, time.Hour, 7 * time.Hour, day, 3 * day, 11 * day}).Draw(t, "by")
			m.l.clock.Advance(d)
		},
		"program": func(t *rapid.T) {
			p := loyalty.DefaultProgram()
			p.Cashback.Enabled = rapid.Float64().Draw(t, "enabled") < 0.8
			p.Cashback.RatePercent = json.Number(rapid.SampledFrom([]string{"0", "5", "10", "12.5", "100"}).Draw(t, "rate"))
			p.ReturnWindowDays = rapid.IntRange(0, 3).Draw(t, "window")
			p.PointsExpiryDays = rapid.SampledFrom([]int{0, 1, 2, 10}).Draw(t, "expiry")
			p.HoldMinutes = rapid.SampledFrom([]int{1, 10, 120}).Draw(t, "hold")
			expect(t, m, m.l.e.SetProgram, &p, true, nil)
			m.cashback = p.Cashback.Enabled
		},
		"order": func(t *rapid.T) {
			c := customer.Draw(t, "customer")
			req := &loyalty.OrderRequest{CustomerID: c, OrderID: m.nextID("o"), OrderDate: ts(start),
				TotalPaid: json.Number(amountText(rapid.IntRange(0, 30000).Draw(t, "paid")))}
			ok := true
			if len(m.holds) > 0 && rapid.Bool().Draw(t, "with hold") {
				h := rapid.SampledFrom(m.holds).Draw(t, "hold")
				req.Redemption = &loyalty.OrderRedemption{PointsHoldReference: h.ref}
				ok = m.last.activeHold(h.ref, c)
			}
			expect(t, m, m.l.e.Order, req, ok, func(t *rapid.T, res engine.OrderResult, before, after snapshot) {
				b, a := before.bals[c], after.bals[c]
				if a[0]-b[0] != res.RewardedPoints-res.RedeemedPoints || a[3]-b[3] != -res.RedeemedPoints {
					t.Fatalf("order earning %d and redeeming %d moved %v to %v", res.RewardedPoints, res.RedeemedPoints, b, a)
				}
			}, loyalty.CodeHoldNotFound)
			if ok {
				m.recorded(req.OrderID, c, true, true)
				if req.Redemption != nil {
					m.used[req.Redemption.PointsHoldReference]++
				}
			}
		},
		"cashback": func(t *rapid.T) {
			c := customer.Draw(t, "customer")
			req := &loyalty.CashbackRequest{CustomerID: c, TransactionID: m.nextID("cb"), TransactionTime: ts(start),
				Amount: json.Number(amountText(rapid.IntRange(0, 30000).Draw(t, "amount")))}
			expect(t, m, m.l.e.Cashback, req, m.cashback, func(t *rapid.T, res engine.CashbackResult, before, after snapshot) {
				if d := after.bals[c][0] - before.bals[c][0]; d != res.RewardEquivalentPoints {
					t.Fatalf("cashback of %d points moved the total by %d", res.RewardEquivalentPoints, d)
				}
			}, loyalty.CodeCashbackDisabled)
			if m.cashback {
				m.recorded(req.TransactionID, c, true, true)
			}
		},
		"add": func(t *rapid.T) {
			c := customer.Draw(t, "customer")
			n := rapid.Int64Range(1, 400).Draw(t, "points")
			req := manual(c, m.nextID("m"), n)
			if rapid.Bool().Draw(t, "own expiry") {
				req.ExpiryAfter = ptr(rapid.IntRange(0, 5).Draw(t, "expiryAfter"))
			}
			expect(t, m, m.l.e.Manual, req, true, func(t *rapid.T, _ engine.ManualResult, before, after snapshot) {
				wantDelta(t, "adding points", c, before, after, bal{n, n, 0, 0})
			})
			m.recorded(req.TransactionID, c, false, true)
		},
		"deduct": func(t *rapid.T) {
			c := customer.Draw(t, "customer")
			n := rapid.Int64Range(1, 400).Draw(t, "points")
			b, exists := m.last.bals[c]
			expect(t, m, m.l.e.Manual, manual(c, m.nextID("m"), -n), exists && n <= b[1]+b[2],
				func(t *rapid.T, _ engine.ManualResult, before, after snapshot) {
					if a := after.bals[c]; a[0] != b[0]-n || a[3] != b[3] {
						t.Fatalf("deducting %d moved %v to %v", n, b, a)
					}
				}, loyalty.CodeCustomerNotFound, loyalty.CodeInsufficient)
		},
		"redeem": func(t *rapid.T) {
			c := customer.Draw(t, "customer")
			n := rapid.Int64Range(1, 400).Draw(t, "points")
			req := redeem(c, m.nextID("r"), n)
			if rapid.Bool().Draw(t, "as money") { // at the default 0.01 a point, a cent per point
				req.Points, req.Amount = nil, num(amountText(int(n)))
			}
			b, exists := m.last.bals[c]
			ok := exists && n <= b[1]
			expect(t, m, m.l.e.Redeem, req, ok, func(t *rapid.T, _ engine.RedeemResult, before, after snapshot) {
				wantDelta(t, "redeeming", c, before, after, bal{-n, -n, 0, 0})
			}, loyalty.CodeCustomerNotFound, loyalty.CodeInsufficient)
			if ok {
				m.recorded(req.TransactionID, c, true, false)
			}
		},
		"hold": func(t *rapid.T) {
			c := customer.Draw(t, "customer")
			n := rapid.Int64Range(1, 300).Draw(t, "points")
			b, exists := m.last.bals[c]
			ok := exists && n <= b[1]
			res := expect(t, m, m.l.e.Hold, &loyalty.HoldRequest{CustomerID: c, TransactionTime: ts(start), PointsToHold: &n}, ok,
				func(t *rapid.T, _ engine.HoldView, before, after snapshot) {
					wantDelta(t, "holding", c, before, after, bal{0, -n, 0, n})
				}, loyalty.CodeCustomerNotFound, loyalty.CodeInsufficient)
			if ok {
				m.holds = append(m.holds, held{res.HoldReference, c})
			}
		},
		"redeem hold": func(t *rapid.T) {
			if len(m.holds) == 0 {
				t.Skip("no holds yet")
			}
			h := rapid.SampledFrom(m.holds).Draw(t, "hold")
			c := h.customer
			if rapid.Float64().Draw(t, "stranger") < 0.2 {
				c = customer.Draw(t, "customer")
			}
			req := &loyalty.RedeemRequest{CustomerID: c, TransactionID: m.nextID("r"), TransactionTime: ts(start), HoldReference: h.ref}
			ok := m.last.activeHold(h.ref, c)
			n := m.last.holds[h.ref].Points
			expect(t, m, m.l.e.Redeem, req, ok, func(t *rapid.T, _ engine.RedeemResult, before, after snapshot) {
				wantDelta(t, "redeeming a hold", c, before, after, bal{-n, 0, 0, -n})
			}, loyalty.CodeHoldNotFound, loyalty.CodeCustomerNotFound)
			if ok {
				m.used[h.ref]++
				m.recorded(req.TransactionID, c, true, false)
			}
		},
		"release": func(t *rapid.T) {
			if len(m.holds) == 0 {
				t.Skip("no holds yet")
			}
			h := rapid.SampledFrom(m.holds).Draw(t, "hold")
			n := m.last.holds[h.ref].Points
			expect(t, m, m.l.e.ReleaseHold, &loyalty.HoldReferenceRequest{HoldReference: h.ref}, m.last.activeHold(h.ref, h.customer),
				func(t *rapid.T, _ engine.ReleaseResult, before, after snapshot) {
					if after.bals[h.customer][3] != before.bals[h.customer][3]-n {
						t.Fatalf("releasing %s moved %v to %v", h.ref, before.bals[h.customer], after.bals[h.customer])
					}
				}, loyalty.CodeHoldNotFound)
		},
		"refund": func(t *rapid.T) {
			if len(m.refundable) == 0 {
				t.Skip("nothing to refund yet")
			}
			id := rapid.SampledFrom(m.refundable).Draw(t, "of")
			c := m.owner[id]
			if rapid.Float64().Draw(t, "stranger") < 0.1 {
				c = customer.Draw(t, "customer")
			}
			req := &loyalty.RefundRequest{CustomerID: c, RefundTransactionID: m.nextID("rf"), ReverseTransactionID: id, TransactionTime: ts(start)}
			if rapid.Bool().Draw(t, "partial") {
				req.RefundAmount = num(amountText(rapid.IntRange(1, 20000).Draw(t, "amount")))
			}
			// Whether a refund may go through depends on the refunds before it; the invariants bound
			// what it does, and a success must move the balance by what it says it moved.
			res, err := run(m.l, m.l.tenant, m.l.e.Refund, req)
			if err == nil {
				m.recorded(req.RefundTransactionID, c, false, res.PointsReturned > 0)
				m.then = func(t *rapid.T, before, after snapshot) {
					if d := after.bals[c][0] - before.bals[c][0]; d != res.PointsReturned-res.PointsTakenBack {
						t.Fatalf("refund %+v answered %+v but moved the total by %d", req, res, d)
					}
				}
				return
			}
			e, _ := loyalty.AsError(err)
			if e == nil || !slices.Contains([]loyalty.Code{loyalty.CodeAlreadyRefunded, loyalty.CodeInvalidValue,
				loyalty.CodeReversedNotFound, loyalty.CodeCustomerNotFound}, e.Code) {
				t.Fatalf("refund %+v: %v", req, err)
			}
			m.then = func(t *rapid.T, before, after snapshot) {
				if !reflect.DeepEqual(before.state, after.state) {
					t.Fatalf("refund %+v failed (%v) but changed the ledger", req, err)
				}
			}
		},
		"activate": func(t *rapid.T) {
			if len(m.credits) == 0 {
				t.Skip("no credits yet")
			}
			id := rapid.SampledFrom(m.credits).Draw(t, "of")
			c := m.owner[id]
			expect(t, m, m.l.e.Activate, &loyalty.ActivateRequest{TransactionID: id}, true,
				func(t *rapid.T, res engine.ActivateResult, before, after snapshot) {
					wantDelta(t, "activating", c, before, after, bal{0, res.PointsActivated, -res.PointsActivated, 0})
				})
		},
		"duplicate": func(t *rapid.T) {
			if len(m.ids) == 0 {
				t.Skip("no transactions yet")
			}
			id := rapid.SampledFrom(m.ids).Draw(t, "id")
			c := customer.Draw(t, "customer")
			if rapid.Bool().Draw(t, "as order") {
				expect(t, m, m.l.e.Order, order(c, id, "1"), false, nil, loyalty.CodeDuplicate)
			} else {
				expect(t, m, m.l.e.Manual, manual(c, id, 5), false, nil, loyalty.CodeDuplicate)
			}
		},
	}
}
