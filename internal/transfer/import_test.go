package transfer

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/transfer/transfertest"
)

// fakeBatches is an in-memory batch API that keeps the server's promises: a repeated key with the
// same items returns the first job, items apply once, in order.
type fakeBatches struct {
	mu       sync.Mutex
	jobs     map[string]int64 // by Idempotency-Key
	bodies   map[int64][]json.RawMessage
	failed   map[int64]map[int]Failure
	applied  map[string]int // times each item was applied, by its text
	fail     func(item json.RawMessage) *Failure
	accepted func(jobs int) // called after each new job, with the number of jobs so far
}

func newFake() *fakeBatches {
	return &fakeBatches{jobs: map[string]int64{}, bodies: map[int64][]json.RawMessage{}, failed: map[int64]map[int]Failure{},
		applied: map[string]int{}}
}

func (f *fakeBatches) submit(ctx context.Context, batchType string, items []json.RawMessage, key string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f.mu.Lock()
	if id, ok := f.jobs[key]; ok {
		defer f.mu.Unlock()
		if !slices.EqualFunc(f.bodies[id], items, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			return 0, &client.Error{StatusCode: http.StatusUnprocessableEntity, Code: 3003, Message: "key reused with another body"}
		}
		return id, nil
	}
	id := int64(len(f.jobs) + 1)
	f.jobs[key] = id
	f.bodies[id] = items
	f.failed[id] = map[int]Failure{}
	for i, item := range items {
		if f.fail != nil {
			if why := f.fail(item); why != nil {
				f.failed[id][i] = *why
				continue
			}
		}
		f.applied[string(item)]++
	}
	n := len(f.jobs)
	f.mu.Unlock()
	if f.accepted != nil {
		f.accepted(n)
	}
	return id, nil
}

// keys returns the keys of the jobs by the order of their first items, which is file order for
// the files these tests import.
func (f *fakeBatches) keys() []string {
	keys := slices.Collect(maps.Keys(f.jobs))
	slices.SortFunc(keys, func(a, b string) int {
		return bytes.Compare(f.bodies[f.jobs[a]][0], f.bodies[f.jobs[b]][0])
	})
	return keys
}

func (f *fakeBatches) failures(ctx context.Context, jobID int64) (map[int]Failure, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed[jobID], nil
}

// reportBuffer is a failure report in memory.
type reportBuffer struct {
	bytes.Buffer
	opened int
}

func (r *reportBuffer) open() (io.WriteCloser, error) {
	r.opened++
	r.Reset() // each run writes its own report
	return nopCloser{r}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func runImport(t *testing.T, ctx context.Context, api batchAPI, typ string, f Format, input string, rep *reportBuffer, salt string) (Summary, error) {
	t.Helper()
	ty, err := TypeNamed(typ)
	if err != nil {
		t.Fatal(err)
	}
	return importWith(ctx, api, strings.NewReader(input), Options{Type: ty, Format: f, Report: rep.open, Salt: salt, Parallel: 3})
}

// customersCSV returns a customers file of n rows; rows whose number is in bad have a number that
// does not parse, rows in refused have an id the fake server refuses.
func customersCSV(n int, bad, refused []int) string {
	var b strings.Builder
	b.WriteString("customerId,customerAttributes.totalSpent,tags\n")
	for i := 1; i <= n; i++ {
		id, spent := fmt.Sprintf("c%05d", i), "10.50"
		if slices.Contains(bad, i) {
			spent = "ten"
		}
		if slices.Contains(refused, i) {
			id = "refused-" + id
		}
		tags := ""
		if i%1000 == 7 {
			tags = "vip,early"
		}
		fmt.Fprintf(&b, "%s,%s,\"%s\"\n", id, spent, tags)
	}
	return b.String()
}

func refuse(item json.RawMessage) *Failure {
	if bytes.Contains(item, []byte(`"refused-`)) {
		return &Failure{Code: 3003, Message: "refused by the test"}
	}
	return nil
}

func TestImportResumesWithoutApplyingTwice(t *testing.T) {
	const rows = 5500
	bad, refused := []int{10, 1500}, []int{3, 2001, 5500}
	input := customersCSV(rows, bad, refused)
	api := newFake()
	api.fail = refuse

	// The first run is interrupted once two batches were accepted.
	ctx, cancel := context.WithCancel(context.Background())
	api.accepted = func(jobs int) {
		if jobs == 2 {
			cancel()
		}
	}
	var rep reportBuffer
	_, err := runImport(t, ctx, api, "customers", CSV, input, &rep, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v, want it cancelled", err)
	}
	if n := len(api.jobs); n < 2 || n > 3 { // the cancelled run had at most Parallel batches in flight
		t.Fatalf("%d jobs after the interruption, want 2 or 3 of 6", n)
	}

	api.accepted = nil
	sum, err := runImport(t, context.Background(), api, "customers", CSV, input, &rep, "")
	if err != nil {
		t.Fatal(err)
	}
	failed := len(bad) + len(refused)
	if sum != (Summary{Rows: rows, Applied: rows - failed, Failed: failed, Batches: 6}) {
		t.Fatalf("summary %+v", sum)
	}
	if len(api.jobs) != 6 || len(api.applied) != rows-failed {
		t.Fatalf("%d jobs, %d distinct items applied; want 6 and %d", len(api.jobs), len(api.applied), rows-failed)
	}
	for item, n := range api.applied {
		if n != 1 {
			t.Fatalf("%s applied %d times", item, n)
		}
	}
	// Tags travel in the item itself; a row with an empty tags cell leaves them out.
	tagged := `{"customerId":"c01007","customerAttributes":{"totalSpent":10.50,"tags":["vip","early"]}}`
	untagged := `{"customerId":"c01008","customerAttributes":{"totalSpent":10.50}}`
	if api.applied[tagged] != 1 || api.applied[untagged] != 1 {
		t.Fatalf("no items %s and %s among those applied", tagged, untagged)
	}
	withTags := 0
	for item := range api.applied {
		if strings.Contains(item, `"tags":`) {
			withTags++
		}
	}
	if withTags != 6 {
		t.Fatalf("%d items with tags, want 6", withTags)
	}

	// The report lists every failed row with its line (the row number plus the header's line), in
	// file order, in the input's columns.
	records, err := csv.NewReader(strings.NewReader(rep.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"_line", "_code", "_message", "customerId", "customerAttributes.totalSpent", "tags"}; !slices.Equal(records[0], want) {
		t.Fatalf("report header %q", records[0])
	}
	var lines []string
	for _, r := range records[1:] {
		lines = append(lines, r[0])
	}
	if want := []string{"4", "11", "1501", "2002", "5501"}; !slices.Equal(lines, want) {
		t.Fatalf("report lines %v, want %v", lines, want)
	}
	if r := records[2]; r[1] != "3003" || !strings.Contains(r[2], `customerAttributes.totalSpent: must be a number`) || r[3] != "c00010" {
		t.Fatalf("unreadable row's report: %q", r)
	}
	if r := records[1]; r[2] != "refused by the test" || r[3] != "refused-c00003" {
		t.Fatalf("refused row's report: %q", r)
	}

	t.Run("the corrected report imports as it is", func(t *testing.T) {
		fixed := strings.NewReplacer("refused-", "", ",ten,", ",10.50,").Replace(rep.String())
		var rep2 reportBuffer
		sum, err := runImport(t, context.Background(), api, "customers", CSV, fixed, &rep2, "")
		if err != nil || sum.Applied != failed || sum.Failed != 0 || rep2.opened != 0 {
			t.Fatalf("%+v %v, report %q", sum, err, rep2.String())
		}
		if len(api.applied) != rows {
			t.Fatalf("%d customers applied in all, want %d", len(api.applied), rows)
		}
	})
}

func TestImportCancelledBetweenBatchesSaysSo(t *testing.T) {
	ty, _ := TypeNamed("customers")
	for _, parallel := range []int{1, 2, 4} {
		ctx, cancel := context.WithCancel(context.Background())
		sum, err := importWith(ctx, newFake(), strings.NewReader(customersCSV(5500, nil, nil)), Options{Type: ty, Format: CSV,
			Parallel: parallel, Report: (&reportBuffer{}).open, Progress: &transfertest.CancelAfter{Rows: 1000, Cancel: cancel}})
		if !errors.Is(err, context.Canceled) || sum.Rows >= 5500 {
			t.Fatalf("parallel %d: %+v %v, want the import cancelled", parallel, sum, err)
		}
	}
}

func TestIdempotencyKeys(t *testing.T) {
	keysOf := func(input, salt string) []string {
		api := newFake()
		if _, err := runImport(t, context.Background(), api, "customers", CSV, input, &reportBuffer{}, salt); err != nil {
			t.Fatal(err)
		}
		return api.keys()
	}
	base := customersCSV(2500, nil, nil)
	keys := keysOf(base, "")
	if len(keys) != 3 || keys[0] == keys[1] {
		t.Fatalf("keys %v", keys)
	}
	if again := keysOf(base, ""); !slices.Equal(again, keys) {
		t.Fatalf("a second run sends other keys: %v, then %v", keys, again)
	}
	if salted := keysOf(base, "again"); salted[0] == keys[0] || salted[2] == keys[2] {
		t.Fatal("a salt does not change the keys")
	}
	edited := strings.Replace(base, "c01200,10.50", "c01200,11.50", 1)
	if e := keysOf(edited, ""); e[0] != keys[0] || e[1] == keys[1] || e[2] != keys[2] {
		t.Fatalf("an edit in the second chunk changed keys %v into %v", keys, e)
	}
	appended := base + "c99999,1,\n"
	if a := keysOf(appended, ""); a[0] != keys[0] || a[1] != keys[1] || a[2] == keys[2] {
		t.Fatalf("an appended row changed keys %v into %v", keys, a)
	}
	if c := (customersCSV(2500, []int{5}, nil)); keysOf(c, "")[1] != keys[1] {
		t.Fatal("an unreadable row in the first chunk moved the second chunk")
	}
}

func TestImportRefusedBatchFailsItsRowsOnly(t *testing.T) {
	api := refusingAPI{newFake()}
	var rep reportBuffer
	sum, err := runImport(t, context.Background(), api, "customers", CSV, customersCSV(2500, nil, nil), &rep, "")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1000 || sum.Applied != 1500 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(rep.String(), "\n1002,3011,the request body is larger than 8 bytes,c01001,") {
		t.Fatalf("report:\n%.300s", rep.String())
	}
}

// refusingAPI refuses the second batch as too large.
type refusingAPI struct{ *fakeBatches }

func (r refusingAPI) submit(ctx context.Context, batchType string, items []json.RawMessage, key string) (int64, error) {
	if bytes.Contains(items[0], []byte(`"c01001"`)) {
		return 0, &client.Error{StatusCode: http.StatusRequestEntityTooLarge, Code: 3011, Message: "the request body is larger than 8 bytes"}
	}
	return r.fakeBatches.submit(ctx, batchType, items, key)
}

func TestImportStopsOnAuthFailure(t *testing.T) {
	api := &unauthorizedAPI{newFake()}
	_, err := runImport(t, context.Background(), api, "customers", CSV, customersCSV(10, nil, nil), &reportBuffer{}, "")
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusUnauthorized {
		t.Fatalf("got %v, want the 401", err)
	}
}

type unauthorizedAPI struct{ *fakeBatches }

func (unauthorizedAPI) submit(context.Context, string, []json.RawMessage, string) (int64, error) {
	return 0, &client.Error{StatusCode: http.StatusUnauthorized, Code: 1000, Message: "unauthorized"}
}

func TestJSONLReport(t *testing.T) {
	api := newFake()
	api.fail = refuse
	input := `{"customerId":"refused-1","orderId":"o1","totalPaid":1}` + "\n" +
		`{"customerId":"c2","orderId":"o2","totalPaid":2}` + "\n" +
		`{oops` + "\n" +
		`{"customerId":"refused-4" , "_line": 99}` + "\n" +
		`{}` + "\n"
	var rep reportBuffer
	sum, err := runImport(t, context.Background(), api, "orders", JSONL, input, &rep, "")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Applied != 2 || sum.Failed != 3 {
		t.Fatalf("summary %+v", sum)
	}
	want := `{"_line":1,"_code":3003,"_message":"refused by the test","customerId":"refused-1","orderId":"o1","totalPaid":1}` + "\n" +
		`{"_line":3,"_code":3016,"_message":"the line is not a JSON object","_raw":"{oops"}` + "\n" +
		`{"_line":4,"_code":3003,"_message":"refused by the test","customerId":"refused-4"}` + "\n"
	if rep.String() != want {
		t.Fatalf("report\n%s\nwant\n%s", rep.String(), want)
	}
}
