package money

import (
	"errors"
	"math"
	"testing"
)

func TestShare(t *testing.T) {
	cases := []struct {
		total, num, den, want int64
	}{
		{199, 3000, 10000, 59}, // 30% of 199, rounded down
		{199, 10000, 10000, 199},
		{199, 0, 10000, 0},
		{1, 1, 3, 0},
		{2, 2, 3, 1},
		// The product is far beyond int64 and still divides exactly.
		{math.MaxInt64, MaxMinor - 1, MaxMinor, math.MaxInt64 - math.MaxInt64/MaxMinor - 1},
	}
	for _, c := range cases {
		got, err := Share(c.total, c.num, c.den)
		if err != nil || got != c.want {
			t.Errorf("Share(%d, %d, %d) = %d, %v; want %d", c.total, c.num, c.den, got, err, c.want)
		}
	}
	for _, bad := range [][3]int64{{-1, 1, 2}, {1, -1, 2}, {1, 1, 0}, {1, 3, 2}} {
		if _, err := Share(bad[0], bad[1], bad[2]); !errors.Is(err, ErrNegative) && !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Share%v: err %v, want ErrNegative or ErrOutOfRange", bad, err)
		}
	}
}

// Shares grow with num, so the differences of cumulative shares that successive partial refunds take
// back are never negative and add up to exactly total when the whole is refunded.
func TestShareCumulativeDifferences(t *testing.T) {
	const total, den = 1999, 997
	taken, prev := int64(0), int64(0)
	for num := int64(0); num <= den; num += 7 {
		s, err := Share(total, num, den)
		if err != nil || s < prev {
			t.Fatalf("Share(%d, %d, %d) = %d, %v; below the previous %d", total, num, den, s, err, prev)
		}
		taken += s - prev
		prev = s
	}
	last, _ := Share(total, den, den)
	if taken+last-prev != total {
		t.Fatalf("cumulative differences add up to %d, want %d", taken+last-prev, total)
	}
}
