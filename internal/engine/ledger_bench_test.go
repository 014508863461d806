package engine_test

import (
	"fmt"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// BenchmarkLedger measures the points operations as a batch runs them: up to 1,000 in one
// transaction, over 10,000 customers.
func BenchmarkLedger(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d.String(), func(b *testing.B) {
			l := newLedger(b, storetest.Open(b, d))
			const customers = 10_000
			customer := func(i int) string { return fmt.Sprintf("c%05d", i%customers) }
			b.Run("order", func(b *testing.B) {
				chunks(b, l, func(tx *store.Tx, i int) error {
					_, err := l.e.Order(ctx, tx, l.tenant, order(customer(i), nextID("o"), "19.99"))
					return err
				})
			})
			b.Run("redeem", func(b *testing.B) {
				chunks(b, l, func(tx *store.Tx, i int) error {
					_, err := l.e.Redeem(ctx, tx, l.tenant, redeem(customer(i), nextID("r"), 1))
					if e, ok := loyalty.AsError(err); ok && e.Code == loyalty.CodeInsufficient {
						return nil // the customer's points ran out; the work was done all the same
					}
					return err
				})
			})
			b.Run("balance", func(b *testing.B) {
				chunks(b, l, func(tx *store.Tx, i int) error {
					_, err := l.e.BalanceInquiry(ctx, tx, l.tenant, &loyalty.BalanceRequest{CustomerID: customer(i)})
					return err
				})
			})
		})
	}
}

// nextID returns a transactionId no benchmark run has used.
func nextID(prefix string) string {
	ids++
	return fmt.Sprintf("%s-%d", prefix, ids)
}

var ids int

// chunks runs op for i in [0, b.N) in write transactions of up to 1,000 operations each.
func chunks(b *testing.B, l *ledger, op func(tx *store.Tx, i int) error) {
	b.ReportAllocs()
	for start := 0; start < b.N; start += 1000 {
		err := l.db.Write(ctx, func(tx *store.Tx) error {
			for i := start; i < min(start+1000, b.N); i++ {
				if err := op(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
