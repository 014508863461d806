package loyalty

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tally-loyalty/tally/internal/money"
)

// Program is a tenant's loyalty program as the API and the CLI read and write it. Money fields keep
// the exact text of their JSON numbers; Compile turns them into exact integers.
type Program struct {
	Currency         string          `json:"currency" doc:"ISO 4217 code of the program's money; amounts may have at most its minor-unit decimals." example:"USD"`
	PointsName       string          `json:"pointsName" doc:"What customers see points called." example:"points"`
	PointValue       json.Number     `json:"pointValue" doc:"Money value of one point, in the program's currency (up to 4 decimals beyond the currency's own)." example:"0.01"`
	Cashback         CashbackProgram `json:"cashback"`
	ReturnWindowDays int             `json:"returnWindowDays" doc:"Days that points earned on orders and cashback stay pending before they can be spent (0 to 7300)."`
	PointsExpiryDays int             `json:"pointsExpiryDays" doc:"Days after they become available that points expire; 0 means never (0 to 36500)."`
	HoldMinutes      int             `json:"holdMinutes" doc:"Lifetime of a hold in minutes (1 to 21600, that is 15 days)." example:"10"`
	EventRules       []EventRule     `json:"eventRules" doc:"Points awarded for customer events; see POST /events."`
}

// CashbackProgram is the cashback rule: a percent of totalPaid (orders) or amount (cashback)
// returned as points worth that money.
type CashbackProgram struct {
	Enabled           bool         `json:"enabled"`
	RatePercent       json.Number  `json:"ratePercent" doc:"Percent of the amount paid returned as points (0 to 100, at most 2 decimals)." example:"10"`
	MinimumOrderValue *json.Number `json:"minimumOrderValue,omitempty" doc:"Amounts below this earn no cashback."`
	MaximumCashback   *json.Number `json:"maximumCashback,omitempty" doc:"Most money one transaction returns as cashback points."`
}

// Limits of a program.
const (
	MaxReturnWindowDays = 7300              // 20 years, as the reference API allows for returnWindow
	MaxExpiryDays       = 36500             // 100 years
	MinHoldMinutes      = 1                 // the reference API's shortest hold
	MaxHoldMinutes      = 21600             // 15 days, the reference API's longest hold
	MaxPoints           = 1_000_000_000_000 // points one transaction may move; keeps every balance sum far inside int64
	maxPointsNameLength = 64                // pointsName
	maxPointValueMajor  = 1_000             // money per point, in major units: a sanity bound that keeps point values in range
)

// DefaultProgram is the program of a tenant that has not set one: useful at once, and the base that
// a written program's missing fields come from.
func DefaultProgram() Program {
	return Program{
		Currency:         "USD",
		PointsName:       "points",
		PointValue:       "0.01",
		Cashback:         CashbackProgram{Enabled: true, RatePercent: "10"},
		ReturnWindowDays: 0,
		PointsExpiryDays: 0,
		HoldMinutes:      10,
		EventRules:       []EventRule{},
	}
}

// DecodeProgram reads a program written as JSON: fields left out keep their default values. It
// validates the result.
func DecodeProgram(data []byte) (Program, error) {
	p := DefaultProgram()
	if err := DecodeJSON(data, &p); err != nil {
		return Program{}, err
	}
	if p.EventRules == nil {
		p.EventRules = []EventRule{}
	}
	if _, err := p.Compile(); err != nil {
		return Program{}, err
	}
	return p, nil
}

// Rules is a validated program in the exact integer form the points engine computes with.
type Rules struct {
	Currency     string
	Decimals     int // minor-unit decimals of Currency
	PointsName   string
	PointValue   money.PointValue
	Cashback     bool
	CashbackRate money.BasisPoints
	MinimumOrder int64 // minor units; 0 is no minimum
	// MaximumCashback is the most money, in minor units, one transaction returns as points; negative
	// means no maximum.
	MaximumCashback int64
	ReturnWindow    time.Duration
	PointsExpiry    time.Duration // 0 is never
	HoldLifetime    time.Duration
}

// Compile validates the program and returns its rules.
func (p *Program) Compile() (Rules, error) {
	r := Rules{Currency: p.Currency, PointsName: p.PointsName, MaximumCashback: -1}
	decimals, ok := money.MinorUnits(p.Currency)
	if !ok {
		return Rules{}, FieldErrorf(CodeInvalidValue, "currency", "must be an ISO 4217 currency code, not %q", p.Currency)
	}
	r.Decimals = decimals
	if p.PointsName == "" {
		return Rules{}, FieldErrorf(CodeMissingArguments, "pointsName", "is required")
	}
	if err := CheckString("pointsName", p.PointsName, maxPointsNameLength); err != nil {
		return Rules{}, err
	}
	pv, err := money.ParsePointValue(p.PointValue.String(), decimals)
	if err != nil {
		return Rules{}, FieldErrorf(CodeInvalidValue, "pointValue", "must be a positive amount of %s with at most %d decimals", p.Currency, decimals+money.PointValueDecimals)
	}
	if int64(pv) > maxPointValueMajor*pow10(decimals)*10_000 {
		return Rules{}, FieldErrorf(CodeInvalidValue, "pointValue", "must be at most %d %s", maxPointValueMajor, p.Currency)
	}
	r.PointValue = pv
	r.Cashback = p.Cashback.Enabled
	if r.CashbackRate, err = money.ParsePercent(p.Cashback.RatePercent.String()); err != nil {
		return Rules{}, FieldErrorf(CodeInvalidValue, "cashback.ratePercent", "must be a percent from 0 to 100 with at most 2 decimals")
	}
	if p.Cashback.MinimumOrderValue != nil {
		if r.MinimumOrder, err = r.NonNegativeAmount("cashback.minimumOrderValue", *p.Cashback.MinimumOrderValue); err != nil {
			return Rules{}, err
		}
	}
	if p.Cashback.MaximumCashback != nil {
		if r.MaximumCashback, err = r.NonNegativeAmount("cashback.maximumCashback", *p.Cashback.MaximumCashback); err != nil {
			return Rules{}, err
		}
	}
	days := []struct {
		field    string
		v, lo, n int
		unit     time.Duration
		dst      *time.Duration
	}{
		{"returnWindowDays", p.ReturnWindowDays, 0, MaxReturnWindowDays, 24 * time.Hour, &r.ReturnWindow},
		{"pointsExpiryDays", p.PointsExpiryDays, 0, MaxExpiryDays, 24 * time.Hour, &r.PointsExpiry},
		{"holdMinutes", p.HoldMinutes, MinHoldMinutes, MaxHoldMinutes, time.Minute, &r.HoldLifetime},
	}
	for _, d := range days {
		if d.v < d.lo || d.v > d.n {
			return Rules{}, FieldErrorf(CodeInvalidValue, d.field, "must be from %d to %d", d.lo, d.n)
		}
		*d.dst = time.Duration(d.v) * d.unit
	}
	if err := ValidateEventRules(p.EventRules); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// pow10 returns 10^n for the small n of currency decimals.
func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// Amount parses a money amount of the program's currency from its JSON-number text into minor
// units. A missing amount is 3000; text that is not a number, has more decimals than the currency
// allows or is out of range is 3003, naming the field.
func (r Rules) Amount(field string, n json.Number) (int64, error) {
	if n == "" {
		return 0, FieldErrorf(CodeMissingArguments, field, "is required")
	}
	v, err := money.ParseMinor(n.String(), r.Decimals)
	switch {
	case errors.Is(err, money.ErrTooManyDecimals):
		return 0, FieldErrorf(CodeInvalidValue, field, "has more decimals than %s allows (%d)", r.Currency, r.Decimals)
	case errors.Is(err, money.ErrOutOfRange):
		return 0, FieldErrorf(CodeInvalidValue, field, "is out of range")
	case err != nil:
		return 0, FieldErrorf(CodeInvalidValue, field, "must be a number")
	}
	return v, nil
}

// NonNegativeAmount is Amount for amounts that must not be negative.
func (r Rules) NonNegativeAmount(field string, n json.Number) (int64, error) {
	v, err := r.Amount(field, n)
	if err == nil && v < 0 {
		return 0, FieldErrorf(CodeInvalidValue, field, "must not be negative")
	}
	return v, err
}

// Money writes minor units of the program's currency as a JSON number.
func (r Rules) Money(minor int64) json.Number { return money.Number(minor, r.Decimals) }

// CashbackPoints returns the points a payment of amount minor units earns: none when cashback is
// disabled or the amount is below the minimum; otherwise the cashback percent of the amount, capped
// at the maximum cashback, converted to points rounding down (floor). 10% of 19.99 USD at 0.01 USD a
// point is 1.999 USD, worth 199 points.
func (r Rules) CashbackPoints(field string, amount int64) (int64, error) {
	if !r.Cashback || amount < r.MinimumOrder {
		return 0, nil
	}
	points, err := money.CashbackPoints(amount, r.CashbackRate, r.PointValue)
	if err == nil && r.MaximumCashback >= 0 {
		var limit int64
		limit, err = money.PointsForMoney(r.MaximumCashback, r.PointValue)
		points = min(points, limit)
	}
	if err != nil || points > MaxPoints {
		return 0, FieldErrorf(CodeInvalidValue, field, "earns more than %d points", MaxPoints)
	}
	return points, nil
}

// PointsFor returns how many whole points amount minor units buy, rounding down (floor); at least one.
func (r Rules) PointsFor(field string, amount int64) (int64, error) {
	points, err := money.PointsForMoney(amount, r.PointValue)
	if err != nil || points > MaxPoints {
		return 0, FieldErrorf(CodeInvalidValue, field, "is worth more than %d points", MaxPoints)
	}
	if points == 0 {
		return 0, FieldErrorf(CodeInvalidValue, field, "is worth less than one point (%s %s)",
			money.FormatPointValue(r.PointValue, r.Decimals), r.Currency)
	}
	return points, nil
}

// PointsPerUnit is the cashback in points that one unit of the currency paid earns, rounded down to
// 4 decimals: 10 for 10% at 0.01 USD a point.
func (r Rules) PointsPerUnit() json.Number {
	// The rate is in basis points and the value in ten-thousandths of a minor unit, so points per
	// unit × 10^4 is rate × 10^(decimals+4) ÷ value; at most 10^4 × 10^8, far inside int64.
	return money.Number(int64(r.CashbackRate)*pow10(r.Decimals+4)/int64(r.PointValue), 4)
}

// ValueOf returns the money value of points in minor units, rounding down (floor).
func (r Rules) ValueOf(points int64) (int64, error) {
	v, err := money.MoneyForPoints(points, r.PointValue)
	if err != nil {
		return 0, fmt.Errorf("loyalty: value of %d points: %w", points, err)
	}
	return v, nil
}
