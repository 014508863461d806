package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMinorUnits(t *testing.T) {
	tests := []struct {
		code string
		want int
		ok   bool
	}{
		{"USD", 2, true}, {"EUR", 2, true}, {"GBP", 2, true}, {"CHF", 2, true}, {"XCG", 2, true},
		{"JPY", 0, true}, {"KRW", 0, true}, {"VND", 0, true}, {"CLP", 0, true}, {"ISK", 0, true},
		{"UGX", 0, true}, {"XAF", 0, true}, {"XOF", 0, true}, {"XPF", 0, true}, {"PYG", 0, true},
		{"RWF", 0, true}, {"KMF", 0, true}, {"GNF", 0, true}, {"DJF", 0, true}, {"BIF", 0, true},
		{"VUV", 0, true}, {"UYI", 0, true},
		{"BHD", 3, true}, {"IQD", 3, true}, {"JOD", 3, true}, {"KWD", 3, true}, {"LYD", 3, true},
		{"OMR", 3, true}, {"TND", 3, true},
		{"CLF", 4, true}, {"UYW", 4, true},
		{"usd", 0, false}, {"Usd", 0, false}, {"", 0, false}, {"US", 0, false}, {"USDD", 0, false},
		{"XAU", 0, false}, {"XXX", 0, false}, {"XDR", 0, false}, {"HRK", 0, false}, {"ZZZ", 0, false},
		{" USD", 0, false},
	}
	for _, tt := range tests {
		got, ok := MinorUnits(tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("MinorUnits(%q) = %d, %v; want %d, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMinorUnitsTable(t *testing.T) {
	if n := len(minorUnits); n < 150 {
		t.Errorf("table has %d currencies; expected the full ISO 4217 list (about 180)", n)
	}
	for code, d := range minorUnits {
		if len(code) != 3 || strings.ToUpper(code) != code || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Errorf("code %q is not three upper-case letters", code)
		}
		switch d {
		case 0, 2, 3, 4:
		default:
			t.Errorf("%s has %d decimals; ISO 4217 uses only 0, 2, 3 and 4", code, d)
		}
		// Every currency's point value must fit the parser's decimals.
		if d+PointValueDecimals > MaxDecimals {
			t.Errorf("%s: %d decimals + %d exceeds MaxDecimals", code, d, PointValueDecimals)
		}
	}
}

func TestParseMinor(t *testing.T) {
	tests := []struct {
		in       string
		decimals int
		want     int64
		err      error
	}{
		// The spec's example and plain values.
		{"19.99", 2, 1999, nil},
		{"-19.99", 2, -1999, nil},
		{"0", 2, 0, nil},
		{"1", 2, 100, nil},
		{"1", 0, 1, nil},
		{"123", 0, 123, nil},
		{"0.01", 2, 1, nil},
		{"0.1", 2, 10, nil},
		{"-0.05", 2, -5, nil},
		// Zero in every spelling, including negative zero and huge exponents.
		{"-0", 2, 0, nil},
		{"-0.0", 2, 0, nil},
		{"0.000", 0, 0, nil},
		{"0e999999999999999999999", 2, 0, nil},
		{"-0E-999999999999999999999", 2, 0, nil},
		// Trailing zeros beyond the allowed places are not extra decimals.
		{"19.990", 2, 1999, nil},
		{"19.99000000000000000000000000", 2, 1999, nil},
		{"5.000", 0, 5, nil},
		{"1.000", 3, 1000, nil},
		// Exponents.
		{"1e2", 2, 10000, nil},
		{"1E2", 0, 100, nil},
		{"1e+2", 0, 100, nil},
		{"1.5e-1", 2, 15, nil},
		{"1.5E-1", 2, 15, nil},
		{"1999e-2", 2, 1999, nil},
		{"199900e-4", 2, 1999, nil},
		{"0.1999e2", 2, 1999, nil},
		{"1e-2", 2, 1, nil},
		{"-1e-2", 2, -1, nil},
		{"1e0", 0, 1, nil},
		{"10e-1", 0, 1, nil},
		{"1000000000000000000000e-21", 0, 1, nil},
		{"1e13", 2, MaxMinor, nil},
		{"1e15", 0, MaxMinor, nil},
		{"1e-3", 2, 0, ErrTooManyDecimals},
		{"1e-999999999", 2, 0, ErrTooManyDecimals},
		{"1e999999999", 2, 0, ErrOutOfRange},
		{"1e99999999999999999999999999999", 2, 0, ErrOutOfRange},
		{"1e-99999999999999999999999999999", 2, 0, ErrTooManyDecimals},
		// Too many decimals.
		{"19.999", 2, 0, ErrTooManyDecimals},
		{"0.001", 2, 0, ErrTooManyDecimals},
		{"0.5", 0, 0, ErrTooManyDecimals},
		{"1.0001", 3, 0, ErrTooManyDecimals},
		{"-0.001", 2, 0, ErrTooManyDecimals},
		{"0.00000000000000000000001", 8, 0, ErrTooManyDecimals},
		// 0- and 3-decimal currencies.
		{"1500", 0, 1500, nil},
		{"1.5", 0, 0, ErrTooManyDecimals},
		{"1.234", 3, 1234, nil},
		{"1.2345", 3, 0, ErrTooManyDecimals},
		{"0.5", 4, 5000, nil},
		// The range limit, exactly and just beyond.
		{"10000000000000", 2, MaxMinor, nil},
		{"-10000000000000", 2, -MaxMinor, nil},
		{"10000000000000.00", 2, MaxMinor, nil},
		{"9999999999999.99", 2, MaxMinor - 1, nil},
		{"10000000000000.01", 2, 0, ErrOutOfRange},
		{"-10000000000000.01", 2, 0, ErrOutOfRange},
		{"1000000000000000", 0, MaxMinor, nil},
		{"1000000000000001", 0, 0, ErrOutOfRange},
		{"9999999999999999", 0, 0, ErrOutOfRange},
		{"10000000000000000", 0, 0, ErrOutOfRange},
		{"99999999999999999999999999999999999999", 2, 0, ErrOutOfRange},
		{"10000000", 8, MaxMinor, nil},
		{"10000000.00000001", 8, 0, ErrOutOfRange},
		// Both too large and too precise: range wins.
		{"10000000000000.001", 2, 0, ErrOutOfRange},
		{"10000000000000.005", 2, 0, ErrOutOfRange},
		{"9999999999999.999", 2, 0, ErrTooManyDecimals},
		{"123456789012345678.9", 0, 0, ErrOutOfRange},
		// Not JSON numbers.
		{"", 2, 0, ErrSyntax},
		{"-", 2, 0, ErrSyntax},
		{"+1", 2, 0, ErrSyntax},
		{"1.", 2, 0, ErrSyntax},
		{".5", 2, 0, ErrSyntax},
		{"-.5", 2, 0, ErrSyntax},
		{"01", 2, 0, ErrSyntax},
		{"00", 2, 0, ErrSyntax},
		{"-01", 2, 0, ErrSyntax},
		{"00.5", 2, 0, ErrSyntax},
		{"1e", 2, 0, ErrSyntax},
		{"1e+", 2, 0, ErrSyntax},
		{"1e-", 2, 0, ErrSyntax},
		{"1.e2", 2, 0, ErrSyntax},
		{"1e2.5", 2, 0, ErrSyntax},
		{"e2", 2, 0, ErrSyntax},
		{"--1", 2, 0, ErrSyntax},
		{" 1", 2, 0, ErrSyntax},
		{"1 ", 2, 0, ErrSyntax},
		{"1\n", 2, 0, ErrSyntax},
		{"1,5", 2, 0, ErrSyntax},
		{"1_000", 2, 0, ErrSyntax},
		{"0x10", 2, 0, ErrSyntax},
		{"NaN", 2, 0, ErrSyntax},
		{"Infinity", 2, 0, ErrSyntax},
		{"-Infinity", 2, 0, ErrSyntax},
		{`"1"`, 2, 0, ErrSyntax},
		{"1e1e1", 2, 0, ErrSyntax},
		{"١", 2, 0, ErrSyntax}, // Arabic-Indic digit one
	}
	for _, tt := range tests {
		got, err := ParseMinor(tt.in, tt.decimals)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseMinor(%q, %d) = %d, %v; want error %v", tt.in, tt.decimals, got, err, tt.err)
			} else if got != 0 {
				t.Errorf("ParseMinor(%q, %d) returned %d with an error", tt.in, tt.decimals, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMinor(%q, %d) = %d, %v; want %d", tt.in, tt.decimals, got, err, tt.want)
		}
	}
}

func TestParseMinorErrorNamesText(t *testing.T) {
	_, err := ParseMinor("19.999", 2)
	if err == nil || !strings.Contains(err.Error(), `"19.999"`) {
		t.Errorf("error %v does not name the offending text", err)
	}
	long := strings.Repeat("9", 10_000)
	_, err = ParseMinor(long, 2)
	if !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("err = %v; want ErrOutOfRange", err)
	}
	if len(err.Error()) > 200 {
		t.Errorf("error message is %d bytes; long input must be shortened", len(err.Error()))
	}
}

func TestParseMinorBadDecimals(t *testing.T) {
	for _, d := range []int{-1, MaxDecimals + 1, 100} {
		if _, err := ParseMinor("1", d); err == nil {
			t.Errorf("ParseMinor(1, %d) succeeded", d)
		}
	}
}

func TestParseMinorDoesNotAllocate(t *testing.T) {
	for _, in := range []string{"19.99", "1.5e-1", "0e999999999", "10000000000000.00"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseMinor(in, 2) }); n != 0 {
			t.Errorf("ParseMinor(%q) allocates %v times", in, n)
		}
	}
}

// TestParseMinorMatchesBigRat compares ParseMinor with an exact big.Rat oracle on random JSON numbers
// written in many equivalent forms.
func TestParseMinorMatchesBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		s := randomNumber(r)
		d := r.IntN(MaxDecimals + 1)
		got, err := ParseMinor(s, d)
		want, wantErr := oracleParse(s, d)
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Fatalf("ParseMinor(%q, %d) = %d, %v; want %v", s, d, got, err, wantErr)
			}
			continue
		}
		if err != nil || got != want {
			t.Fatalf("ParseMinor(%q, %d) = %d, %v; want %d", s, d, got, err, want)
		}
	}
}

// randomNumber returns a random valid JSON number with small exponents.
func randomNumber(r *rand.Rand) string {
	var b strings.Builder
	if r.IntN(2) == 0 {
		b.WriteByte('-')
	}
	if r.IntN(4) == 0 {
		b.WriteByte('0')
	} else {
		b.WriteByte(byte('1' + r.IntN(9)))
		for range r.IntN(18) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	if r.IntN(2) == 0 {
		b.WriteByte('.')
		for range 1 + r.IntN(12) {
			if r.IntN(3) == 0 {
				b.WriteByte('0')
			} else {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		}
	}
	if r.IntN(3) == 0 {
		b.WriteByte("eE"[r.IntN(2)])
		b.WriteString([]string{"", "+", "-"}[r.IntN(3)])
		fmt.Fprint(&b, r.IntN(25))
	}
	return b.String()
}

// oracleParse is ParseMinor by exact rational arithmetic, for numbers with modest exponents.
func oracleParse(s string, decimals int) (int64, error) {
	if !json.Valid([]byte(s)) || s == "" || !(s[0] == '-' || isDigit(s[0])) || !isDigit(s[len(s)-1]) {
		return 0, ErrSyntax
	}
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, ErrSyntax
	}
	v.Mul(v, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)))
	if new(big.Rat).Abs(v).Cmp(new(big.Rat).SetInt64(MaxMinor)) > 0 {
		return 0, ErrOutOfRange
	}
	if !v.IsInt() {
		return 0, ErrTooManyDecimals
	}
	return v.Num().Int64(), nil
}

func TestFormatMinor(t *testing.T) {
	tests := []struct {
		minor    int64
		decimals int
		want     string
	}{
		{1999, 2, "19.99"},
		{100, 2, "1"},
		{-5, 2, "-0.05"},
		{0, 2, "0"},
		{0, 0, "0"},
		{0, 8, "0"},
		{1, 2, "0.01"},
		{10, 2, "0.1"},
		{-10, 2, "-0.1"},
		{1990, 2, "19.9"},
		{-1999, 2, "-19.99"},
		{5, 0, "5"},
		{-5, 0, "-5"},
		{1234, 3, "1.234"},
		{1000, 3, "1"},
		{1, 3, "0.001"},
		{15, 4, "0.0015"},
		{10000, 4, "1"},
		{MaxMinor, 2, "10000000000000"},
		{-MaxMinor, 2, "-10000000000000"},
		{MaxMinor - 1, 2, "9999999999999.99"},
		{1, 8, "0.00000001"},
		{math.MaxInt64, 2, "92233720368547758.07"},
		{math.MinInt64, 2, "-92233720368547758.08"},
		{math.MinInt64, 0, "-9223372036854775808"},
	}
	for _, tt := range tests {
		if got := FormatMinor(tt.minor, tt.decimals); got != tt.want {
			t.Errorf("FormatMinor(%d, %d) = %q; want %q", tt.minor, tt.decimals, got, tt.want)
		}
		if got := Number(tt.minor, tt.decimals); got != json.Number(tt.want) {
			t.Errorf("Number(%d, %d) = %q; want %q", tt.minor, tt.decimals, got, tt.want)
		}
		if !json.Valid([]byte(tt.want)) {
			t.Errorf("%q is not valid JSON", tt.want)
		}
	}
}

func TestFormatMinorPanicsOnBadDecimals(t *testing.T) {
	for _, d := range []int{-1, MaxDecimals + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FormatMinor(1, %d) did not panic", d)
				}
			}()
			FormatMinor(1, d)
		}()
	}
}

func TestNumberInJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		Amount json.Number `json:"amount"`
	}{Number(1999, 2)})
	if err != nil || string(b) != `{"amount":19.99}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
}

// TestRoundTrip checks ParseMinor(FormatMinor(m, d), d) == m for random in-range m.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	edges := []int64{0, 1, -1, 9, 10, 99, 100, 101, MaxMinor, -MaxMinor, MaxMinor - 1, -MaxMinor + 1}
	for d := 0; d <= MaxDecimals; d++ {
		for _, m := range edges {
			roundTrip(t, m, d)
		}
		for range 20_000 {
			var m int64
			switch r.IntN(3) {
			case 0: // uniform over the whole range
				m = r.Int64N(2*MaxMinor+1) - MaxMinor
			case 1: // small values, where leading zeros of the fraction matter
				m = r.Int64N(2_000_001) - 1_000_000
			default: // round numbers, where trailing zeros are trimmed
				m = (r.Int64N(2_000_001) - 1_000_000) * int64(math.Pow10(r.IntN(10)))
			}
			roundTrip(t, m, d)
		}
	}
}

func roundTrip(t *testing.T, m int64, d int) {
	t.Helper()
	s := FormatMinor(m, d)
	got, err := ParseMinor(s, d)
	if err != nil || got != m {
		t.Fatalf("ParseMinor(FormatMinor(%d, %d) = %q) = %d, %v", m, d, s, got, err)
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want BasisPoints
		err  error
	}{
		{"10", 1000, nil},
		{"12.5", 1250, nil},
		{"12.50", 1250, nil},
		{"0.01", 1, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"100", 10000, nil},
		{"1e2", 10000, nil},
		{"1.25e1", 1250, nil},
		{"100.00", 10000, nil},
		{"100.01", 0, ErrOutOfRange},
		{"101", 0, ErrOutOfRange},
		{"-1", 0, ErrOutOfRange},
		{"-0.01", 0, ErrOutOfRange},
		{"12.345", 0, ErrTooManyDecimals},
		{"1e999", 0, ErrOutOfRange},
		{"10%", 0, ErrSyntax},
		{"", 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := ParsePercent(tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParsePercent(%q) = %d, %v; want %v", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePercent(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatPercent(t *testing.T) {
	for p, want := range map[BasisPoints]string{0: "0", 1: "0.01", 1000: "10", 1250: "12.5", 10000: "100"} {
		if got := FormatPercent(p); got != want {
			t.Errorf("FormatPercent(%d) = %q; want %q", p, got, want)
		}
		if back, err := ParsePercent(want); err != nil || back != p {
			t.Errorf("ParsePercent(%q) = %d, %v; want %d", want, back, err, p)
		}
	}
}

func TestParsePointValue(t *testing.T) {
	tests := []struct {
		in       string
		decimals int
		want     PointValue
		err      error
	}{
		{"0.01", 2, 10000, nil},
		{"0.005", 2, 5000, nil},
		{"0.000001", 2, 1, nil},
		{"1", 2, 1000000, nil},
		{"1e-2", 2, 10000, nil},
		{"1", 0, 10000, nil},     // JPY: one yen per point
		{"0.5", 0, 5000, nil},    // half a yen
		{"0.0001", 0, 1, nil},    // the finest JPY point value
		{"0.001", 3, 10000, nil}, // one fils
		{"0.0000001", 3, 1, nil},
		{"0.0001", 4, 10000, nil}, // CLF
		{"100000000000", 0, MaxPointValue, nil},
		{"1000000000", 2, MaxPointValue, nil},
		{"1000000000.01", 2, 0, ErrOutOfRange},
		{"0.0000001", 2, 0, ErrTooManyDecimals},
		{"0.00001", 0, 0, ErrTooManyDecimals},
		{"0", 2, 0, ErrOutOfRange},
		{"-0", 2, 0, ErrOutOfRange},
		{"-0.01", 2, 0, ErrOutOfRange},
		{"abc", 2, 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := ParsePointValue(tt.in, tt.decimals)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParsePointValue(%q, %d) = %d, %v; want %v", tt.in, tt.decimals, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParsePointValue(%q, %d) = %d, %v; want %d", tt.in, tt.decimals, got, err, tt.want)
		}
	}
	if _, err := ParsePointValue("1", MaxDecimals-PointValueDecimals+1); err == nil {
		t.Errorf("ParsePointValue accepted %d currency decimals", MaxDecimals-PointValueDecimals+1)
	}
}

func TestFormatPointValue(t *testing.T) {
	tests := []struct {
		v        PointValue
		decimals int
		want     string
	}{
		{10000, 2, "0.01"},
		{5000, 2, "0.005"},
		{1, 2, "0.000001"},
		{10000, 0, "1"},
		{5000, 0, "0.5"},
		{10000, 3, "0.001"},
		{MaxPointValue, 2, "1000000000"},
	}
	for _, tt := range tests {
		got := FormatPointValue(tt.v, tt.decimals)
		if got != tt.want {
			t.Errorf("FormatPointValue(%d, %d) = %q; want %q", tt.v, tt.decimals, got, tt.want)
		}
		if back, err := ParsePointValue(got, tt.decimals); err != nil || back != tt.v {
			t.Errorf("ParsePointValue(%q, %d) = %d, %v; want %d", got, tt.decimals, back, err, tt.v)
		}
	}
}

func TestCashbackPoints(t *testing.T) {
	tests := []struct {
		name    string
		amount  int64
		percent BasisPoints
		value   PointValue
		want    int64
		err     error
	}{
		{"spec example: 10% of 19.99 USD at 0.01", 1999, 1000, 10000, 199, nil},
		{"12.5% of 19.99 at 0.01 (2.49875 USD)", 1999, 1250, 10000, 249, nil},
		{"10% of 20.00 at 0.01, exact", 2000, 1000, 10000, 200, nil},
		{"10% of 19.99 at 0.005", 1999, 1000, 5000, 399, nil},
		{"100% of 1.00 at 0.01", 100, 10000, 10000, 100, nil},
		{"0%", 1999, 0, 10000, 0, nil},
		{"zero amount", 0, 1000, 10000, 0, nil},
		{"less than a point", 9, 1000, 10000, 0, nil},
		{"JPY: 5% of 1999 yen at 1 yen", 1999, 500, 10000, 99, nil},
		{"KWD: 10% of 19.999 at 0.001", 19999, 1000, 10000, 1999, nil},
		{"max amount, 100%, 0.01", MaxMinor, MaxPercent, 10000, MaxMinor, nil},
		{"max amount, 100%, finest value: 10^19 overflows", MaxMinor, MaxPercent, 1, 0, ErrOutOfRange},
		{"max amount, 50%, finest value: 5×10^18 fits", MaxMinor, 5000, 1, 5_000_000_000_000_000_000, nil},
		{"negative amount", -1, 1000, 10000, 0, ErrNegative},
		{"amount beyond MaxMinor", MaxMinor + 1, 1000, 10000, 0, ErrOutOfRange},
		{"negative percent", 1999, -1, 10000, 0, ErrOutOfRange},
		{"percent above 100", 1999, MaxPercent + 1, 10000, 0, ErrOutOfRange},
		{"zero point value", 1999, 1000, 0, 0, ErrOutOfRange},
		{"negative point value", 1999, 1000, -1, 0, ErrOutOfRange},
		{"point value beyond max", 1999, 1000, MaxPointValue + 1, 0, ErrOutOfRange},
	}
	for _, tt := range tests {
		got, err := CashbackPoints(tt.amount, tt.percent, tt.value)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || got != 0 {
				t.Errorf("%s: CashbackPoints = %d, %v; want error %v", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: CashbackPoints = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

// TestCashbackFromText runs the spec's example end to end from JSON-number text.
func TestCashbackFromText(t *testing.T) {
	d, _ := MinorUnits("USD")
	amount, err1 := ParseMinor("19.99", d)
	percent, err2 := ParsePercent("10")
	value, err3 := ParsePointValue("0.01", d)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if got, err := CashbackPoints(amount, percent, value); err != nil || got != 199 {
		t.Errorf("CashbackPoints = %d, %v; want 199", got, err)
	}
}

func TestPointsForMoney(t *testing.T) {
	tests := []struct {
		name   string
		amount int64
		value  PointValue
		want   int64
		err    error
	}{
		{"19.99 at 0.01", 1999, 10000, 1999, nil},
		{"19.99 at 0.005", 1999, 5000, 3998, nil},
		{"19.99 at 0.03 floors", 1999, 30000, 666, nil},
		{"0.01 at 0.02 floors to 0", 1, 20000, 0, nil},
		{"zero", 0, 10000, 0, nil},
		{"JPY 1000 at 1 yen", 1000, 10000, 1000, nil},
		{"JPY 1000 at 0.3 yen", 1000, 3000, 3333, nil},
		{"max at 0.01", MaxMinor, 10000, MaxMinor, nil},
		{"max at finest: 10^19 overflows", MaxMinor, 1, 0, ErrOutOfRange},
		{"largest fitting at finest", math.MaxInt64 / 10000, 1, math.MaxInt64 / 10000 * 10000, nil},
		{"negative", -1, 10000, 0, ErrNegative},
		{"beyond MaxMinor", MaxMinor + 1, 10000, 0, ErrOutOfRange},
		{"zero value", 1999, 0, 0, ErrOutOfRange},
		{"value beyond max", 1999, MaxPointValue + 1, 0, ErrOutOfRange},
	}
	for _, tt := range tests {
		got, err := PointsForMoney(tt.amount, tt.value)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || got != 0 {
				t.Errorf("%s: PointsForMoney = %d, %v; want error %v", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: PointsForMoney = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestMoneyForPoints(t *testing.T) {
	tests := []struct {
		name   string
		points int64
		value  PointValue
		want   int64
		err    error
	}{
		{"199 at 0.01", 199, 10000, 199, nil},
		{"3 at 0.005 floors", 3, 5000, 1, nil},
		{"1 at 0.005 floors to 0", 1, 5000, 0, nil},
		{"zero", 0, 10000, 0, nil},
		{"JPY 10 at 0.5 yen", 10, 5000, 5, nil},
		{"KWD 199 at 0.001", 199, 10000, 199, nil},
		{"exactly MaxMinor", MaxMinor, 10000, MaxMinor, nil},
		{"beyond MaxMinor", MaxMinor + 1, 10000, 0, ErrOutOfRange},
		{"max points at finest value", math.MaxInt64, 1, math.MaxInt64 / 10000, nil},
		{"max points at max value: 128-bit product", math.MaxInt64, MaxPointValue, 0, ErrOutOfRange},
		{"negative", -1, 10000, 0, ErrNegative},
		{"zero value", 1, 0, 0, ErrOutOfRange},
		{"negative value", 1, -10000, 0, ErrOutOfRange},
	}
	for _, tt := range tests {
		got, err := MoneyForPoints(tt.points, tt.value)
		if tt.err != nil {
			if !errors.Is(err, tt.err) || got != 0 {
				t.Errorf("%s: MoneyForPoints = %d, %v; want error %v", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: MoneyForPoints = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

// TestConversionsMatchBigInt checks the three conversions against math/big on random valid inputs.
func TestConversionsMatchBigInt(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 50_000 {
		amount := randomUpTo(r, MaxMinor)
		percent := BasisPoints(randomUpTo(r, int64(MaxPercent)))
		value := PointValue(1 + randomUpTo(r, int64(MaxPointValue)-1))
		points := randomUpTo(r, math.MaxInt64)

		checkAgainst(t, "CashbackPoints", bigFloorDiv(amount, int64(percent), int64(value)), math.MaxInt64)(CashbackPoints(amount, percent, value))
		checkAgainst(t, "PointsForMoney", bigFloorDiv(amount, pointValueScale, int64(value)), math.MaxInt64)(PointsForMoney(amount, value))
		checkAgainst(t, "MoneyForPoints", bigFloorDiv(points, int64(value), pointValueScale), MaxMinor)(MoneyForPoints(points, value))
	}
}

// randomUpTo returns a value in 0..max, biased towards small magnitudes so that results both fit and
// overflow often.
func randomUpTo(r *rand.Rand, max int64) int64 {
	digits := 1 + r.IntN(19)
	limit := int64(1)
	for range digits - 1 {
		if limit > max/10 {
			break
		}
		limit *= 10
	}
	return r.Int64N(min(limit, max)) + r.Int64N(2)
}

func bigFloorDiv(a, b, c int64) *big.Int {
	p := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return p.Quo(p, big.NewInt(c))
}

func checkAgainst(t *testing.T, name string, want *big.Int, limit int64) func(int64, error) {
	return func(got int64, err error) {
		t.Helper()
		if want.Cmp(big.NewInt(limit)) > 0 {
			if !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("%s = %d, %v; want ErrOutOfRange (exact result %s)", name, got, err, want)
			}
			return
		}
		if err != nil || got != want.Int64() {
			t.Fatalf("%s = %d, %v; want %s", name, got, err, want)
		}
	}
}
