package engine_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// concurrently runs fn(i) for i in [0, n) at once and returns the error of each.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			errs[i] = fn(i)
		}()
	}
	close(ready)
	wg.Wait()
	return errs
}

// tally counts the errors by code; unexpected errors fail the test.
func tally(t *testing.T, errs []error) map[loyalty.Code]int {
	t.Helper()
	counts := map[loyalty.Code]int{}
	for _, err := range errs {
		if err == nil {
			counts[0]++
			continue
		}
		e, ok := loyalty.AsError(err)
		if !ok {
			t.Fatalf("unexpected error: %v", err)
		}
		counts[e.Code]++
	}
	return counts
}

func testConcurrentRedemptionsOfOneHold(t *testing.T, l *ledger) {
	must(t, l, l.e.Manual, manual("ada", "seed", 1000))
	h := must(t, l, l.e.Hold, &loyalty.HoldRequest{CustomerID: "ada", TransactionTime: ts(start), PointsToHold: ptr[int64](400)})
	errs := concurrently(100, func(i int) error {
		_, err := run(l, l.tenant, l.e.Redeem, &loyalty.RedeemRequest{CustomerID: "ada", TransactionID: fmt.Sprintf("r-%d", i),
			TransactionTime: ts(start), HoldReference: h.HoldReference})
		return err
	})
	if got := tally(t, errs); got[0] != 1 || got[loyalty.CodeHoldNotFound] != 99 {
		t.Fatalf("outcomes by code (0 = success): %v", got)
	}
	l.wantPoints(t, "ada", 600, 600, 0, 0)
	page := must(t, l, l.e.Transactions, &loyalty.TransactionQuery{Type: loyalty.KindRedemption})
	if page.Count != 1 || page.Transactions[0].Points != 400 {
		t.Fatalf("redemptions: %+v", page.Transactions)
	}
}

func testConcurrentRedemptionsBeyondTheBalance(t *testing.T, l *ledger) {
	must(t, l, l.e.Manual, manual("ada", "seed-1", 600))
	must(t, l, l.e.Manual, manual("ada", "seed-2", 400))
	const n, each = 50, 30 // 1,500 points asked of 1,000
	errs := concurrently(n, func(i int) error {
		_, err := run(l, l.tenant, l.e.Redeem, redeem("ada", fmt.Sprintf("r-%d", i), each))
		return err
	})
	got := tally(t, errs)
	if got[0] != 1000/each || got[loyalty.CodeInsufficient] != n-1000/each {
		t.Fatalf("outcomes by code (0 = success): %v", got)
	}
	b := l.wantPoints(t, "ada", 1000-each*int64(got[0]), 1000-each*int64(got[0]), 0, 0)
	// Every success is in the ledger, and the entries add up to the balance.
	page := must(t, l, l.e.Transactions, &loyalty.TransactionQuery{Type: loyalty.KindRedemption, Limit: 200})
	if page.Count != got[0] {
		t.Fatalf("%d redemptions succeeded, the ledger has %d", got[0], page.Count)
	}
	for _, sum := range readState(t, l, l.tenant).byCust {
		if sum != b.TotalPointsBalance {
			t.Fatalf("entries add up to %d, the balance is %d", sum, b.TotalPointsBalance)
		}
	}
}

// Earning operations racing to create the same customer all land on one customer, and a
// transactionId raced for by several customers is taken exactly once.
func testConcurrentEarningAndDuplicates(t *testing.T, l *ledger) {
	errs := concurrently(20, func(i int) error {
		_, err := run(l, l.tenant, l.e.Cashback, &loyalty.CashbackRequest{CustomerID: "new", TransactionID: fmt.Sprintf("cb-%d", i),
			TransactionTime: ts(start), Amount: "1"})
		return err
	})
	if got := tally(t, errs); got[0] != 20 {
		t.Fatalf("outcomes by code (0 = success): %v", got)
	}
	l.wantPoints(t, "new", 200, 200, 0, 0)
	for _, c := range []string{"a", "b", "c", "d"} {
		must(t, l, l.e.Manual, manual(c, "seed-"+c, 10))
	}
	errs = concurrently(4, func(i int) error {
		_, err := run(l, l.tenant, l.e.Manual, manual(string(rune('a'+i)), "same", 5))
		return err
	})
	if got := tally(t, errs); got[0] != 1 || got[loyalty.CodeDuplicate] != 3 {
		t.Fatalf("outcomes by code (0 = success): %v", got)
	}
}
