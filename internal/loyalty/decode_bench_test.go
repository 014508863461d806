package loyalty_test

import (
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/bench/workload"
	"github.com/tally-loyalty/tally/internal/loyalty"
)

// BenchmarkDecodeItem decodes one batch item of each type and checks it under the default program,
// as the engine does before it touches the database.
func BenchmarkDecodeItem(b *testing.B) {
	program := loyalty.DefaultProgram()
	rules, err := program.Compile()
	if err != nil {
		b.Fatal(err)
	}
	checks := map[string]func(item []byte) error{
		workload.Customers: func(item []byte) error {
			var r loyalty.CustomerRequest
			return decodeThen(item, &r, r.Validate)
		},
		workload.BalanceInquiry: func(item []byte) error {
			var r loyalty.BalanceRequest
			return decodeThen(item, &r, func() error { return loyalty.CheckID("customerId", r.CustomerID) })
		},
		workload.BalanceAdjustment: func(item []byte) error {
			var r loyalty.ManualRequest
			return decodeThen(item, &r, func() error { _, err := r.Parse(rules); return err })
		},
		workload.Orders: func(item []byte) error {
			var r loyalty.OrderRequest
			return decodeThen(item, &r, func() error { _, err := r.Parse(rules); return err })
		},
		workload.Cashback: func(item []byte) error {
			var r loyalty.CashbackRequest
			return decodeThen(item, &r, func() error { _, err := r.Parse(rules); return err })
		},
		workload.Redeem: func(item []byte) error {
			var r loyalty.RedeemRequest
			return decodeThen(item, &r, func() error { _, err := r.Parse(rules); return err })
		},
		workload.Events: func(item []byte) error {
			var r loyalty.EventsRequest
			return decodeThen(item, &r, func() error { _, err := r.Parse(); return err })
		},
	}
	g := workload.NewSource("bench-", 10_000, time.Now()).Gen(1)
	for _, t := range workload.Types {
		check := checks[t.Name]
		item := g.Item(t).JSON
		b.Run(t.Name, func(b *testing.B) {
			b.SetBytes(int64(len(item)))
			for b.Loop() {
				if err := check(item); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// decodeThen decodes item into v, then runs check, which reads v.
func decodeThen(item []byte, v any, check func() error) error {
	if err := loyalty.DecodeJSON(item, v); err != nil {
		return err
	}
	return check()
}
