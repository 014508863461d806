package money

import "fmt"

// Share returns the part of total that num out of den stands for, rounded down:
// floor(total × num ÷ den), computed exactly in 128 bits. A refund of 30.00 out of an order of
// 100.00 that earned 199 points takes back Share(199, 3000, 10000) = 59 of them. Since num never
// exceeds den the result never exceeds total, and it grows with num: successive partial refunds
// take back the differences of cumulative shares, which add up to exactly total for the whole.
//
// It reports ErrNegative for a negative argument and ErrOutOfRange when den is zero or num exceeds den.
func Share(total, num, den int64) (int64, error) {
	if total < 0 || num < 0 || den < 0 {
		return 0, fmt.Errorf("share: %d × %d ÷ %d: %w", total, num, den, ErrNegative)
	}
	if den == 0 || num > den {
		return 0, fmt.Errorf("share: %d ÷ %d: %w (want 0 ≤ num ≤ den, den > 0)", num, den, ErrOutOfRange)
	}
	q, _ := mulDiv(uint64(total), uint64(num), uint64(den)) // num ≤ den, so q ≤ total fits
	return q, nil
}
