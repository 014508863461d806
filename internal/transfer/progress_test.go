package transfer

import (
	"bytes"
	"testing"
	"time"
)

func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	now := start
	p := &progressLines{w: &out, total: 3000, label: "orders", every: 10 * time.Second,
		now: func() time.Time { return now }, start: start}
	for _, step := range []struct {
		at           time.Duration
		rows, failed int
	}{{2 * time.Second, 1000, 1}, {5 * time.Second, 1000, 0}, {20 * time.Second, 1000, 2}} {
		now = start.Add(step.at)
		p.Add(step.rows, step.failed)
	}
	want := "orders: 1000/3000 rows (33%), 1 failed, 500 rows/s, about 4s left\n" +
		"orders: 3000/3000 rows (100%), 3 failed, 150 rows/s\n"
	if out.String() != want {
		t.Fatalf("progress\n%s\nwant\n%s", out.String(), want)
	}
}
