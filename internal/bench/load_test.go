package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6} // 1 to 10, shuffled
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {10, 1}, {50, 5}, {51, 6}, {99, 10}, {100, 10}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("percentile(%v) = %d, want %d", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile of nothing = %d", got)
	}
}

func TestProcField(t *testing.T) {
	status := "Name:\ttally\nVmPeak:\t  200 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n"
	if v, ok := procField(status, "VmHWM"); !ok || v != 12345 {
		t.Errorf("VmHWM = %d, %v", v, ok)
	}
	if _, ok := procField(status, "VmSwap"); ok {
		t.Error("found a field that is not there")
	}
}
