package money

import (
	"fmt"
	"strconv"
)

// maxSigDigits is the number of digits of MaxMinor; any integer with more digits exceeds it.
const maxSigDigits = 16

// expClamp caps a parsed exponent's magnitude. Any exponent beyond it decides the outcome on its own
// (out of range, or too many decimals), so clamping keeps the arithmetic in int without changing the
// result — provided the clamp exceeds every digit count, which a string's length bounds long before 2^40.
const expClamp = 1 << 40

// ParseMinor converts the literal text of a JSON number (as held by json.Number: optional minus,
// integer part without leading zeros, optional fraction, optional exponent) to exact minor units of a
// currency with the given number of decimals. For example ParseMinor("19.99", 2) is 1999,
// ParseMinor("1.5e-1", 2) is 15 and ParseMinor("-0", 2) is 0.
//
// It reports ErrSyntax if number is not a JSON number, ErrOutOfRange if the absolute value exceeds
// MaxMinor, and otherwise ErrTooManyDecimals if the value has non-zero digits beyond decimals places
// (range is checked first, so a value that is both is reported as out of range). It never
// rounds and never uses floating point; the work is linear in len(number) and allocates nothing on
// success, however large the exponent. decimals must be within 0..MaxDecimals.
func ParseMinor(number string, decimals int) (int64, error) {
	if err := checkDecimals(decimals, MaxDecimals); err != nil {
		return 0, err
	}
	n, ok := scanNumber(number)
	if !ok {
		return 0, fmt.Errorf("parse %s: %w", quote(number), ErrSyntax)
	}

	// The value is digits × 10^(exp − len(frac)); in minor units it is scaled by 10^decimals more.
	// Work on the virtual concatenation "digits" of the integer and fraction digits without building it.
	total := len(n.intPart) + len(n.fracPart)
	digitAt := func(i int) byte {
		if i < len(n.intPart) {
			return n.intPart[i]
		}
		return n.fracPart[i-len(n.intPart)]
	}
	first, last := 0, total-1
	for first < total && digitAt(first) == '0' {
		first++
	}
	if first == total {
		return 0, nil // zero, whatever its sign, fraction or exponent ("-0", "0.000", "0e999999")
	}
	for digitAt(last) == '0' {
		last--
	}
	// shift is the power of ten applied to the significant digits digits[first..last] to get minor units.
	shift := n.exp - int64(len(n.fracPart)) + int64(decimals) + int64(total-1-last)
	sig := int64(last - first + 1)

	// intDigits is the number of digits before the decimal point of the minor-unit value; with more
	// than maxSigDigits it exceeds MaxMinor. Range is checked before decimals so that a value that is
	// both too large and too precise is always reported as out of range.
	intDigits := sig + shift
	if intDigits > maxSigDigits {
		return 0, errOutOfRange(number, decimals)
	}
	var v uint64 // at most maxSigDigits digits, so no overflow
	for i := first; int64(i-first) < min(intDigits, sig); i++ {
		v = v*10 + uint64(digitAt(i)-'0')
	}
	if shift < 0 {
		// The last significant digit is non-zero, so a negative shift leaves a fraction of a minor
		// unit: the value is strictly greater than its integer part v.
		if v >= MaxMinor {
			return 0, errOutOfRange(number, decimals)
		}
		return 0, fmt.Errorf("parse %s: %w (at most %d)", quote(number), ErrTooManyDecimals, decimals)
	}
	for ; shift > 0; shift-- {
		v *= 10
	}
	if v > MaxMinor {
		return 0, errOutOfRange(number, decimals)
	}
	if n.neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

func errOutOfRange(number string, decimals int) error {
	return fmt.Errorf("parse %s: %w (limit %s)", quote(number), ErrOutOfRange, FormatMinor(MaxMinor, decimals))
}

// number is a JSON number split into its parts; intPart and fracPart are substrings of the input.
type number struct {
	neg      bool
	intPart  string
	fracPart string
	exp      int64 // clamped to ±expClamp
}

// scanNumber splits s according to the JSON number grammar (RFC 8259 section 6):
//
//	number = [ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
//
// It reports false for anything else, including surrounding whitespace.
func scanNumber(s string) (number, bool) {
	var n number
	i := 0
	if i < len(s) && s[i] == '-' {
		n.neg = true
		i++
	}
	start := i
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return n, false
	}
	n.intPart = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return n, false
		}
		n.fracPart = s[start:i]
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		start = i
		for i < len(s) && isDigit(s[i]) {
			if n.exp < expClamp {
				n.exp = n.exp*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == start {
			return n, false
		}
		n.exp = min(n.exp, expClamp)
		if expNeg {
			n.exp = -n.exp
		}
	}
	return n, i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// quote quotes s for an error message, shortened so that a megabyte of client input is not echoed
// back in a response or a log line.
func quote(s string) string {
	const limit = 40
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "…"
	}
	return strconv.Quote(s)
}
