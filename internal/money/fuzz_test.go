package money

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

// FuzzParseMinor checks that ParseMinor never panics, that every success is within MaxMinor and
// survives FormatMinor → ParseMinor unchanged, that failures carry a sentinel, and, for inputs with
// modest exponents, that the result matches an exact big.Rat computation.
func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"19.99", "-0", "1.5e-1", "1e999999999", "10000000000000.01", "1.", ".5", "01"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, text string, decimals int) {
		d := decimals % (MaxDecimals + 1)
		if d < 0 {
			d = -d
		}
		m, err := ParseMinor(text, d)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooManyDecimals) && !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("ParseMinor(%q, %d): error %v wraps no sentinel", text, d, err)
			}
			if m != 0 {
				t.Fatalf("ParseMinor(%q, %d) returned %d with an error", text, d, m)
			}
		} else {
			if m > MaxMinor || m < -MaxMinor {
				t.Fatalf("ParseMinor(%q, %d) = %d, beyond MaxMinor", text, d, m)
			}
			s := FormatMinor(m, d)
			back, err := ParseMinor(s, d)
			if err != nil || back != m {
				t.Fatalf("ParseMinor(%q, %d) = %d, but ParseMinor(FormatMinor = %q) = %d, %v", text, d, m, s, back, err)
			}
		}
		if modestExponent(text) {
			want, wantErr := oracleParse(text, d)
			if wantErr != nil {
				if !errors.Is(err, wantErr) {
					t.Fatalf("ParseMinor(%q, %d) = %d, %v; oracle says %v", text, d, m, err, wantErr)
				}
			} else if err != nil || m != want {
				t.Fatalf("ParseMinor(%q, %d) = %d, %v; oracle says %d", text, d, m, err, want)
			}
		}
	})
}

// modestExponent reports whether big.Rat can evaluate text cheaply: short, with an exponent of at
// most four digits (big.Rat would build 10^e in full).
func modestExponent(text string) bool {
	if len(text) > 400 {
		return false
	}
	i := strings.IndexAny(text, "eE")
	if i < 0 {
		return true
	}
	exp := strings.TrimLeft(text[i+1:], "+-")
	return len(strings.TrimLeft(exp, "0")) <= 4
}

// FuzzCashback checks that CashbackPoints never panics, never returns a negative number of points,
// never returns more than the whole amount buys (PointsForMoney), and agrees with math/big. Inputs are
// used both raw, to exercise validation, and folded into the valid ranges, to exercise the arithmetic.
func FuzzCashback(f *testing.F) {
	f.Add(int64(1999), int64(1000), int64(10000))
	f.Add(int64(MaxMinor), int64(MaxPercent), int64(1))
	f.Fuzz(func(t *testing.T, amount, percent, value int64) {
		check := func(amount int64, percent BasisPoints, value PointValue) {
			got, err := CashbackPoints(amount, percent, value)
			valid := amount >= 0 && amount <= MaxMinor && percent >= 0 && percent <= MaxPercent &&
				value > 0 && value <= MaxPointValue
			if !valid {
				if err == nil {
					t.Fatalf("CashbackPoints(%d, %d, %d) = %d; want an error for invalid input", amount, percent, value, got)
				}
				return
			}
			exact := bigFloorDiv(amount, int64(percent), int64(value))
			if !exact.IsInt64() {
				if !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("CashbackPoints(%d, %d, %d) = %d, %v; want ErrOutOfRange", amount, percent, value, got, err)
				}
				return
			}
			if err != nil || got != exact.Int64() {
				t.Fatalf("CashbackPoints(%d, %d, %d) = %d, %v; want %s", amount, percent, value, got, err, exact)
			}
			if got < 0 {
				t.Fatalf("CashbackPoints(%d, %d, %d) = %d < 0", amount, percent, value, got)
			}
			whole := bigFloorDiv(amount, pointValueScale, int64(value))
			if big.NewInt(got).Cmp(whole) > 0 {
				t.Fatalf("CashbackPoints(%d, %d, %d) = %d exceeds amount/value = %s", amount, percent, value, got, whole)
			}
			if all, err := PointsForMoney(amount, value); err == nil && got > all {
				t.Fatalf("CashbackPoints(%d, %d, %d) = %d exceeds PointsForMoney = %d", amount, percent, value, got, all)
			}
		}
		check(amount, BasisPoints(percent), PointValue(value))
		check(fold(amount, MaxMinor), BasisPoints(fold(percent, int64(MaxPercent))), PointValue(1+fold(value, int64(MaxPointValue)-1)))
	})
}

// fold maps any int64 into 0..max.
func fold(v, max int64) int64 {
	r := v % (max + 1)
	if r < 0 {
		r += max + 1
	}
	return r
}
