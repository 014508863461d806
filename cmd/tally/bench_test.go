package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/bench"
)

// TestBenchSmoke runs `tally bench` for a moment on tiny sizes: it checks that the command measures
// and reports, not how fast anything is.
func TestBenchSmoke(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "--in-process", "--json", "--types", "customers,redeem",
		"--duration", "100ms", "--customers", "30", "--batch-size", "10", "--singles", "5", "--submitters", "2"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if rep.Seed == nil || rep.Seed.Items != 30 || rep.Seed.Failed != 0 {
		t.Fatalf("seeding: %+v", rep.Seed)
	}
	if len(rep.Types) != 2 {
		t.Fatalf("measured %d types, want customers and redeem: %s", len(rep.Types), out.String())
	}
	for _, tr := range rep.Types {
		th := tr.Throughput
		if th.Items == 0 || th.Items%10 != 0 || th.Failed != 0 || th.ItemsPerSecond <= 0 {
			t.Errorf("%s: %+v", tr.Type, th)
		}
		if sp := tr.Speedup; sp == nil || len(sp.BatchSeconds) == 0 || sp.Speedup <= 0 {
			t.Errorf("%s: speedup %+v (%s)", tr.Type, sp, tr.SpeedupSkipped)
		}
	}
	if rep.PeakRSSBytes <= 0 {
		t.Errorf("peak memory %d", rep.PeakRSSBytes)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"customers", "redeem", "speedup", "peak resident memory"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, table.String())
		}
	}
}
