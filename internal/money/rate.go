package money

import (
	"fmt"
	"math"
	"math/bits"
)

// BasisPoints is a percentage in hundredths of a percent (basis points): 1000 is 10%, 1250 is 12.5%,
// 10000 is 100%. Two decimals of a percent are what programs are configured with, and holding them
// as an integer keeps cashback exact.
type BasisPoints int64

// MaxPercent is 100%, the largest cashback percent.
const MaxPercent BasisPoints = 10_000

// PointValue is the money value of one point in ten-thousandths of a minor unit of the program's
// currency: 10000 is one minor unit (0.01 USD per point for USD), 5000 is half a minor unit
// (0.005 USD), 1 is 0.000001 USD. The four extra places let a program price points below its
// currency's smallest coin, which is common, while staying an exact integer.
type PointValue int64

// PointValueDecimals is how many decimal places a PointValue has beyond its currency's minor unit.
const PointValueDecimals = 4

// pointValueScale is 10^PointValueDecimals: the PointValue of one minor unit.
const pointValueScale = 10_000

// MaxPointValue is the largest PointValue, 10^11 minor units per point. It is MaxMinor in the
// PointValue's own scale, which is the bound ParseMinor enforces on the text anyway.
const MaxPointValue PointValue = MaxMinor

// ParsePercent converts the JSON-number text of a percent ("10", "12.5", "1.25e1") to BasisPoints.
// It reports ErrSyntax for text that is not a JSON number, ErrTooManyDecimals for more than two
// decimals, and ErrOutOfRange for a percent outside 0..100.
func ParsePercent(text string) (BasisPoints, error) {
	v, err := ParseMinor(text, 2)
	if err != nil {
		return 0, fmt.Errorf("percent: %w", err)
	}
	if v < 0 || v > int64(MaxPercent) {
		return 0, fmt.Errorf("percent %s: %w (must be 0 to 100)", quote(text), ErrOutOfRange)
	}
	return BasisPoints(v), nil
}

// FormatPercent writes p as the shortest exact JSON number of percent: 1250 is "12.5".
func FormatPercent(p BasisPoints) string {
	return FormatMinor(int64(p), 2)
}

// ParsePointValue converts the JSON-number text of a point's money value ("0.01", "0.005") in a
// currency with the given decimals to a PointValue. It reports ErrSyntax for text that is not a JSON
// number, ErrTooManyDecimals for more than decimals+PointValueDecimals places, and ErrOutOfRange for a
// value that is not positive or exceeds MaxPointValue. decimals must be within
// 0..MaxDecimals-PointValueDecimals, which covers every ISO 4217 currency.
func ParsePointValue(text string, decimals int) (PointValue, error) {
	if err := checkDecimals(decimals, MaxDecimals-PointValueDecimals); err != nil {
		return 0, err
	}
	v, err := ParseMinor(text, decimals+PointValueDecimals)
	if err != nil {
		return 0, fmt.Errorf("point value: %w", err)
	}
	if v <= 0 {
		return 0, fmt.Errorf("point value %s: %w (must be positive)", quote(text), ErrOutOfRange)
	}
	return PointValue(v), nil
}

// FormatPointValue writes v, for a currency with the given decimals, as the shortest exact JSON
// number: 10000 with 2 decimals is "0.01". It panics if decimals is outside
// 0..MaxDecimals-PointValueDecimals, as FormatMinor does.
func FormatPointValue(v PointValue, decimals int) string {
	if err := checkDecimals(decimals, MaxDecimals-PointValueDecimals); err != nil {
		panic(err)
	}
	return FormatMinor(int64(v), decimals+PointValueDecimals)
}

// CashbackPoints returns the points earned as cashback on a purchase of amount minor units:
// floor(amount × percent/100 ÷ pointValue). For example 10% of 19.99 USD (1999) at 0.01 USD per point
// (10000) is 1.999 USD, worth 199 points.
//
// With percent in basis points and the point value in ten-thousandths of a minor unit the scales
// cancel, so the result is exactly floor(amount × percent ÷ value), computed in 128 bits.
// It reports ErrNegative for a negative amount and ErrOutOfRange for an amount beyond MaxMinor,
// a percent outside 0..MaxPercent, a value outside 1..MaxPointValue, or a result beyond int64.
func CashbackPoints(amount int64, percent BasisPoints, value PointValue) (int64, error) {
	if err := checkAmount(amount); err != nil {
		return 0, fmt.Errorf("cashback: %w", err)
	}
	if percent < 0 || percent > MaxPercent {
		return 0, fmt.Errorf("cashback: percent %s: %w", FormatPercent(percent), ErrOutOfRange)
	}
	if err := checkValue(value); err != nil {
		return 0, fmt.Errorf("cashback: %w", err)
	}
	p, ok := mulDiv(uint64(amount), uint64(percent), uint64(value))
	if !ok {
		return 0, fmt.Errorf("cashback: %d × %d bp ÷ %d: %w", amount, percent, value, ErrOutOfRange)
	}
	return p, nil
}

// PointsForMoney returns how many whole points amount minor units buy: floor(amount ÷ pointValue),
// computed exactly as floor(amount × 10^4 ÷ value) in 128 bits. It reports ErrNegative for a
// negative amount and ErrOutOfRange for an amount beyond MaxMinor, a value outside 1..MaxPointValue
// or a result beyond int64.
func PointsForMoney(amount int64, value PointValue) (int64, error) {
	if err := checkAmount(amount); err != nil {
		return 0, fmt.Errorf("points for money: %w", err)
	}
	if err := checkValue(value); err != nil {
		return 0, fmt.Errorf("points for money: %w", err)
	}
	p, ok := mulDiv(uint64(amount), pointValueScale, uint64(value))
	if !ok {
		return 0, fmt.Errorf("points for money: %d ÷ %d: %w", amount, value, ErrOutOfRange)
	}
	return p, nil
}

// MoneyForPoints returns the money value of points in minor units: floor(points × pointValue), so
// 199 points at 0.01 USD are 1.99 USD (199) and 3 points at 0.005 USD are 0.01 USD (1, not 1.5).
// It reports ErrNegative for negative points and ErrOutOfRange for a value outside
// 1..MaxPointValue or a result beyond MaxMinor.
func MoneyForPoints(points int64, value PointValue) (int64, error) {
	if points < 0 {
		return 0, fmt.Errorf("money for points: %d points: %w", points, ErrNegative)
	}
	if err := checkValue(value); err != nil {
		return 0, fmt.Errorf("money for points: %w", err)
	}
	m, ok := mulDiv(uint64(points), uint64(value), pointValueScale)
	if !ok || m > MaxMinor {
		return 0, fmt.Errorf("money for points: %d points × %d: %w (limit %d)", points, value, ErrOutOfRange, int64(MaxMinor))
	}
	return m, nil
}

func checkAmount(amount int64) error {
	if amount < 0 {
		return fmt.Errorf("amount %d: %w", amount, ErrNegative)
	}
	if amount > MaxMinor {
		return fmt.Errorf("amount %d: %w (limit %d)", amount, ErrOutOfRange, int64(MaxMinor))
	}
	return nil
}

func checkValue(v PointValue) error {
	if v <= 0 || v > MaxPointValue {
		return fmt.Errorf("point value %d: %w (must be 1 to %d)", v, ErrOutOfRange, MaxPointValue)
	}
	return nil
}

// mulDiv returns floor(a × b ÷ c) using a 128-bit product, so no intermediate can overflow, and
// reports false if the quotient does not fit an int64. c must be non-zero.
func mulDiv(a, b, c uint64) (int64, bool) {
	hi, lo := bits.Mul64(a, b)
	if hi >= c { // the quotient would need more than 64 bits (and bits.Div64 would panic)
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, c)
	if q > math.MaxInt64 {
		return 0, false
	}
	return int64(q), true
}
