package money

import (
	"encoding/json"
	"strconv"
	"strings"
)

// FormatMinor writes minor units of a currency with the given number of decimals as the shortest
// exact decimal text, which is also a valid JSON number: FormatMinor(1999, 2) is "19.99",
// FormatMinor(100, 2) is "1", FormatMinor(-5, 2) is "-0.05" and FormatMinor(0, d) is "0". It never
// uses an exponent, so the text reads the same to people and to parsers. Any int64 is accepted, even
// beyond MaxMinor, because formatting a stored value must not fail.
//
// FormatMinor panics if decimals is outside 0..MaxDecimals: that is a programming error (as with a bad
// base for strconv.FormatInt), and writing a wrongly scaled figure would be worse.
func FormatMinor(minor int64, decimals int) string {
	if err := checkDecimals(decimals, MaxDecimals); err != nil {
		panic(err)
	}
	neg := minor < 0
	abs := uint64(minor)
	if neg {
		abs = -abs // two's complement: correct even for math.MinInt64
	}
	digits := strconv.FormatUint(abs, 10)
	if decimals > 0 {
		if len(digits) <= decimals {
			digits = strings.Repeat("0", decimals-len(digits)+1) + digits
		}
		point := len(digits) - decimals
		intPart, frac := digits[:point], strings.TrimRight(digits[point:], "0")
		digits = intPart
		if frac != "" {
			digits += "." + frac
		}
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// Number is FormatMinor as a json.Number, for response structs that carry amounts as JSON numbers.
func Number(minor int64, decimals int) json.Number {
	return json.Number(FormatMinor(minor, decimals))
}
