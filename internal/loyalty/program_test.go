package loyalty_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

func TestDefaultProgram(t *testing.T) {
	p := loyalty.DefaultProgram()
	r, err := p.Compile()
	if err != nil {
		t.Fatal(err)
	}
	want := loyalty.Rules{Currency: "USD", Decimals: 2, PointsName: "points", PointValue: 10_000, Cashback: true,
		CashbackRate: 1000, MaximumCashback: -1, HoldLifetime: 10 * time.Minute}
	if r != want {
		t.Fatalf("rules %+v, want %+v", r, want)
	}
}

func TestDecodeProgram(t *testing.T) {
	p, err := loyalty.DecodeProgram([]byte(`{"currency":"JPY","pointValue":1,"cashback":{"ratePercent":2.5,"minimumOrderValue":500},
		"pointsExpiryDays":365}`))
	if err != nil {
		t.Fatal(err)
	}
	// Fields left out keep their defaults, also inside cashback.
	if p.PointsName != "points" || !p.Cashback.Enabled || p.HoldMinutes != 10 || p.EventRules == nil {
		t.Fatalf("defaults not kept: %+v", p)
	}
	r, err := p.Compile()
	if err != nil || r.Decimals != 0 || r.MinimumOrder != 500 || r.CashbackRate != 250 || r.PointsExpiry != 365*24*time.Hour {
		t.Fatalf("rules %+v, %v", r, err)
	}
	bad := []struct{ body, field string }{
		{`{"currency":"usd"}`, "currency"},
		{`{"pointsName":""}`, "pointsName"},
		{`{"currency":"JPY","pointValue":0.00001}`, "pointValue"}, // JPY has no decimals, a point value 4 more
		{`{"pointValue":1001}`, "pointValue"},
		{`{"cashback":{"ratePercent":-1}}`, "cashback.ratePercent"},
		{`{"cashback":{"ratePercent":10.001}}`, "cashback.ratePercent"},
		{`{"cashback":{"minimumOrderValue":-5}}`, "cashback.minimumOrderValue"},
		{`{"returnWindowDays":7301}`, "returnWindowDays"},
		{`{"pointsExpiryDays":-1}`, "pointsExpiryDays"},
		{`{"holdMinutes":21601}`, "holdMinutes"},
		{`{"eventRules":[{"event":"signup","points":0}]}`, "eventRules[0].points"},
	}
	for _, b := range bad {
		_, err := loyalty.DecodeProgram([]byte(b.body))
		e, ok := loyalty.AsError(err)
		if !ok || len(e.Fields) == 0 || e.Fields[0].Field != b.field {
			t.Errorf("%s: got %v, want an error about %s", b.body, err, b.field)
		}
	}
}

// Money converts to points rounding down, and amounts never round: more decimals than the currency
// has is an error.
func TestRulesArithmetic(t *testing.T) {
	r, err := (&loyalty.Program{Currency: "USD", PointsName: "p", PointValue: "0.01", HoldMinutes: 10,
		Cashback: loyalty.CashbackProgram{Enabled: true, RatePercent: "10", MinimumOrderValue: num("5"), MaximumCashback: num("2.5")},
	}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		amount string
		points int64
	}{
		{"19.99", 199}, // 1.999 USD of cashback
		{"5", 50},
		{"4.99", 0},   // below the minimum order
		{"25", 250},   // exactly the maximum cashback
		{"1000", 250}, // capped
	} {
		minor, err := r.Amount("amount", json.Number(c.amount))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.CashbackPoints("amount", minor); err != nil || got != c.points {
			t.Errorf("cashback on %s: %d, %v; want %d", c.amount, got, err, c.points)
		}
	}
	if _, err := r.Amount("amount", "1.001"); err == nil {
		t.Error("1.001 USD accepted")
	}
	if _, err := r.Amount("amount", ""); err == nil {
		t.Error("a missing amount accepted")
	}
	half, _ := (&loyalty.Program{Currency: "USD", PointsName: "p", PointValue: "0.005", HoldMinutes: 10,
		Cashback: loyalty.CashbackProgram{RatePercent: "0"}}).Compile()
	if p, err := half.PointsFor("amount", 3); err != nil || p != 6 {
		t.Errorf("points for 0.03 at 0.005: %d, %v", p, err)
	}
	if v, err := half.ValueOf(3); err != nil || v != 1 { // 1.5 cents, rounded down
		t.Errorf("value of 3 points at 0.005: %d, %v", v, err)
	}
	if _, err := r.PointsFor("amount", 0); err == nil {
		t.Error("an amount worth no point accepted")
	}
	if got := r.PointsPerUnit(); got != "10" {
		t.Errorf("points per dollar at 10%%: %s", got)
	}
}

func num(s string) *json.Number { n := json.Number(s); return &n }
