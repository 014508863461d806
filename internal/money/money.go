// Package money does Tally's exact arithmetic on money and points. Money is int64 minor units of the
// program's currency (cents for USD, yen for JPY, fils for BHD); points are int64. The rules:
//
//   - No floating point anywhere. Amounts arrive as the literal text of JSON numbers (json.Number) and
//     are converted digit by digit, so "19.99" is exactly 1999 cents and never 1998.9999….
//   - An amount with more decimals than its currency has is rejected (ErrTooManyDecimals), never
//     rounded: silently dropping a fraction of a cent from a client's figure would be a lie in the ledger.
//     Trailing zeros are not extra decimals ("19.990" is 1999 cents).
//   - Every amount is bounded by MaxMinor, so sums and the rate products below cannot overflow unnoticed.
//   - Rates are exact integers too: a cashback percent is held in basis points (hundredths of a
//     percent, BasisPoints) and the money value of one point in ten-thousandths of a minor unit
//     (PointValue).
//   - Converting between money and points has one rounding rule: floor. The customer never receives
//     more than the rate allows, and the result never depends on the order of operations because each
//     conversion is a single exact multiply-then-divide on 128-bit intermediates.
//   - The conversions are defined for non-negative inputs only. A negative amount or point count is a
//     bug in the caller (refunds and reversals are modelled as their own transactions), so it is
//     reported as ErrNegative rather than rounded in some guessed direction.
package money

import (
	"errors"
	"fmt"
)

// MaxMinor is the largest absolute amount, in minor units, that ParseMinor accepts and that the
// conversions return: 10^15 (ten trillion dollars in cents).
//
// The bound is chosen so that:
//   - thousands of maximal amounts can be added in an int64 (MaxInt64 ≈ 9223 × MaxMinor) without an
//     overflow check on every sum;
//   - an amount times a small factor (up to 9223, for example a whole percent, a quantity or a count
//     of sums) stays within int64. An amount times a percent in basis points, or times the 10^4
//     point-value scale, can reach 10^19 and does NOT fit int64, so the conversions in this package
//     multiply into 128 bits (math/bits) and check the quotient instead of relying on the bound;
//   - every amount has at most 15 significant digits and is below 2^53, so it survives a round trip
//     through an IEEE-754 double unchanged — clients in JavaScript read the same figure Tally wrote.
const MaxMinor = 1_000_000_000_000_000

// MaxDecimals is the largest number of decimal places ParseMinor and FormatMinor work with: the four
// of the finest ISO 4217 currencies (CLF, UYW) plus the four extra places of a PointValue.
const MaxDecimals = 8

// The sentinel errors. Functions wrap them with the offending text or values; test with errors.Is.
var (
	// ErrSyntax reports text that is not a valid JSON number ("1.", ".5", "+1", "01", "1e", "NaN" ...).
	ErrSyntax = errors.New("money: not a valid JSON number")
	// ErrTooManyDecimals reports a value that cannot be written exactly with the allowed decimals.
	ErrTooManyDecimals = errors.New("money: too many decimal places")
	// ErrOutOfRange reports a value outside its permitted range: an amount beyond MaxMinor, a percent
	// outside 0..100, a point value that is not positive, or a result that does not fit.
	ErrOutOfRange = errors.New("money: value out of range")
	// ErrNegative reports a negative amount or point count passed to a conversion.
	ErrNegative = errors.New("money: negative value")
)

// checkDecimals rejects a decimals argument outside 0..max. A bad value here is a programming error,
// not bad client input, so the error wraps no sentinel.
func checkDecimals(decimals, max int) error {
	if decimals < 0 || decimals > max {
		return fmt.Errorf("money: decimals %d outside 0..%d", decimals, max)
	}
	return nil
}
