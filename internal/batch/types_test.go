package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// scenario is a 1,000-item batch of one type, with the state it needs first.
type scenario struct {
	setup     []call   // applied to both tenants first, as single calls
	items     []string // the batch; the other tenant gets them as single calls
	customers []string // whose balances and profiles must end up the same
	// eventRules, when set, are the event rules of both tenants' programs: the scenario runs
	// under the default program and again under these.
	eventRules []loyalty.EventRule
}

type call struct{ typeName, item string }

const (
	scenarioItems = 1000
	paidAt        = "2026-02-01T10:00:00Z" // before the engine's fixed clock
)

// customerOf spreads the items over 50 customers.
func customerOf(i int) string { return fmt.Sprintf("c%d", i%50) }

func customerIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%d", i)
	}
	return ids
}

// scenarios builds, for every batch type, items that succeed, items the engine refuses (invalid
// fields, unknown customers, too few points, repeated ids) and items that change what later items
// of the same customer see. A repeated id always belongs to the same customer, so that the outcome
// depends on the order of that customer's items only.
func scenarios() map[string]scenario {
	each := func(f func(i int) string) []string {
		items := make([]string, scenarioItems)
		for i := range items {
			items[i] = f(i)
		}
		return items
	}
	// id is the i-th transaction id of a kind, now and then the one of period items before (9004):
	// the period is that of the customers, so that both items are the same customer's.
	id := func(prefix string, i, period int) string {
		if i >= period && i%13 == 0 {
			i -= period
		}
		return fmt.Sprintf("%s%d", prefix, i)
	}
	var grants []call
	for k := range 40 {
		grants = append(grants, call{"balance-adjustment", fmt.Sprintf(`{"customerId":"c%d","points":%d}`, k, 50+k*10)})
	}
	var orders []call
	for k := range 100 {
		orders = append(orders, call{"orders", fmt.Sprintf(`{"customerId":%q,"orderId":"o%d","orderDate":%q,"totalPaid":%d.25}`,
			customerOf(k), k, paidAt, 10+k)})
	}
	return map[string]scenario{
		"customers": {customers: customerIDs(50), items: each(func(i int) string {
			switch {
			case i%97 == 0:
				return `{"email":"nobody@example.com"}`
			case i%89 == 0:
				return fmt.Sprintf(`{"customerId":%q,"customerAttributes":{"channel":"fax"}}`, customerOf(i))
			}
			return fmt.Sprintf(`{"customerId":%q,"email":"e%d@example.com","customerAttributes":{"displayName":"n%d","custom":{"k%d":%d}}}`,
				customerOf(i), i, i, i%3, i)
		})},
		"balance-adjustment": {customers: customerIDs(50), items: each(func(i int) string {
			c := customerOf(i)
			switch {
			case i%97 == 0:
				return fmt.Sprintf(`{"customerId":%q,"points":5,"amount":1}`, c)
			case i%7 == 3:
				return fmt.Sprintf(`{"customerId":%q,"points":-40,"reason":"correction"}`, c)
			case i%11 == 0:
				return fmt.Sprintf(`{"customerId":%q,"amount":2.35}`, c)
			case i%5 == 0:
				return fmt.Sprintf(`{"customerId":%q,"points":%d,"transactionId":%q}`, c, i%50+1, id("m", i, 50))
			}
			return fmt.Sprintf(`{"customerId":%q,"points":%d}`, c, i%50+1)
		})},
		"orders": {customers: customerIDs(50), items: each(func(i int) string {
			switch {
			case i%97 == 0:
				return fmt.Sprintf(`{"customerId":%q,"orderId":"bad%d","orderDate":%q,"totalPaid":-1}`, customerOf(i), i, paidAt)
			case i%89 == 0:
				return fmt.Sprintf(`{"customerId":%q,"orderId":"bad%d","totalPaid":5}`, customerOf(i), i)
			}
			return fmt.Sprintf(`{"customerId":%q,"orderId":%q,"orderDate":%q,"totalPaid":%d.99}`, customerOf(i), id("o", i, 50), paidAt, i%40+1)
		})},
		"cashback": {customers: customerIDs(50), items: each(func(i int) string {
			if i%97 == 0 {
				return fmt.Sprintf(`{"customerId":%q,"transactionId":"bad%d","transactionTime":%q,"amount":"ten"}`, customerOf(i), i, paidAt)
			}
			return fmt.Sprintf(`{"customerId":%q,"transactionId":%q,"transactionTime":%q,"amount":%d.5}`, customerOf(i), id("cb", i, 50), paidAt, i%30+1)
		})},
		"redeem": {setup: grants, customers: customerIDs(60), items: each(func(i int) string {
			c := fmt.Sprintf("c%d", i%60) // c40 to c59 have no points, c50 and up do not exist
			if i%10 == 0 {
				return fmt.Sprintf(`{"customerId":%q,"transactionId":%q,"transactionTime":%q,"amount":0.5}`, c, id("r", i, 60), paidAt)
			}
			return fmt.Sprintf(`{"customerId":%q,"transactionId":%q,"transactionTime":%q,"points":%d}`, c, id("r", i, 60), paidAt, i%9+1)
		})},
		"balance-inquiry": {setup: grants, customers: customerIDs(60), items: each(func(i int) string {
			if i%97 == 0 {
				return `{}`
			}
			return fmt.Sprintf(`{"customerId":"c%d"}`, i%60)
		})},
		"orders/transactions": {setup: orders, customers: customerIDs(50), items: each(func(i int) string {
			switch {
			case i%97 == 0:
				return `7`
			case i%89 == 0:
				return `""`
			}
			return fmt.Sprintf(`"o%d"`, i%150)
		})},
		"events": {customers: customerIDs(50), items: each(func(i int) string {
			if i%97 == 0 {
				return fmt.Sprintf(`{"customerId":%q,"events":{"":{}}}`, customerOf(i))
			}
			return fmt.Sprintf(`{"customerId":%q,"events":{"e%d":{"v":%d}}}`, customerOf(i), i%3, i)
		}), eventRules: []loyalty.EventRule{
			{Event: "e0", Points: 3},
			{Event: "e1", Points: 5, MaxPerCustomer: 4, Conditions: []loyalty.Condition{{Key: "v", Op: "gte", Value: json.RawMessage(`100`)}}},
		}},
	}
}

// testTypesBehaveLikeSingleCalls runs, for every batch type, a 1,000-item batch under one tenant
// and the same items as single calls (one transaction each, as the single endpoints run them)
// under another, and requires the same outcome for every item and the same balances and profiles.
func testTypesBehaveLikeSingleCalls(t *testing.T, f fixture) {
	all := scenarios()
	for _, typ := range f.s.Types() {
		sc, ok := all[typ.Name]
		if !ok {
			t.Fatalf("no scenario for batch type %s", typ.Name)
		}
		type program struct {
			name  string
			rules []loyalty.EventRule
		}
		programs := []program{{"default program", nil}}
		if sc.eventRules != nil {
			programs = append(programs, program{"event rules", sc.eventRules})
		}
		for _, p := range programs {
			t.Run(strings.ReplaceAll(typ.Name, "/", "-")+"/"+p.name, func(t *testing.T) {
				t.Parallel() // each type has tenants of its own
				testTypeBehavesLikeSingleCalls(t, f, typ, sc, p.rules)
			})
		}
	}
}

// testTypeBehavesLikeSingleCalls runs the scenario's batch under one new tenant and its items as
// single calls under another, both with the event rules in their programs.
func testTypeBehavesLikeSingleCalls(t *testing.T, f fixture, typ Type, sc scenario, rules []loyalty.EventRule) {
	batched, single := f.newTenant(t), f.newTenant(t)
	for _, tn := range []fixture{batched, single} {
		if rules != nil {
			tn.setEventRules(t, rules)
		}
		for _, c := range sc.setup {
			if res, err := tn.single(t, f.s.types[c.typeName], 0, c.item); err != nil || bytes.Contains(res, []byte(`"error"`)) {
				t.Fatalf("setup %s %s: %s, %v", c.typeName, c.item, res, err)
			}
		}
	}
	c, err := f.s.Submit(ctx, batched.tenant, typ.Name, []byte(`{"body":[`+strings.Join(sc.items, ",")+`]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	batched.run(t, c.JobID)
	job := batched.job(t, c.JobID)
	if job.Status != store.BatchCompleted || job.ProcessedCount != scenarioItems || job.ErrorCount == 0 {
		t.Fatalf("job %+v", job)
	}
	got := map[int][]byte{}
	for _, r := range append(job.Response.Successful, job.Response.Failed...) {
		var head struct{ Index int }
		if err := json.Unmarshal(r, &head); err != nil {
			t.Fatal(err)
		}
		got[head.Index] = r
	}
	want := single.singles(t, typ, sc.items)
	for i := range sc.items {
		if g, w := normalized(t, got[i]), normalized(t, want[i]); g != w {
			t.Fatalf("item %d %s:\nbatch  %s\nsingle %s", i, sc.items[i], g, w)
		}
	}
	for _, id := range sc.customers {
		if g, w := batched.state(t, id), single.state(t, id); g != w {
			t.Fatalf("customer %s:\nbatch  %s\nsingle %s", id, g, w)
		}
	}
}

// testPointsReadAhead checks which types' chunks read their customers' points ahead: all but
// customer profiles, and events only while an event rule can award points. (An orders/transactions
// item names no customer, so its chunks read no customer ahead at all.)
func testPointsReadAhead(t *testing.T, f fixture) {
	plain, rules := f.newTenant(t), f.newTenant(t)
	rules.setEventRules(t, []loyalty.EventRule{{Event: "e0", Points: 3}})
	for _, typ := range f.s.Types() {
		for _, tn := range []fixture{plain, rules} {
			want := typ.Name != "customers" && (typ.Name != "events" || tn.tenant == rules.tenant)
			err := f.db.Read(ctx, func(tx *store.Tx) error {
				got, err := typ.pointsRead(ctx, tx, tn.tenant)
				if err == nil && got != want {
					t.Errorf("%s, tenant with event rules %v: points read ahead %v; want %v", typ.Name,
						tn.tenant == rules.tenant, got, want)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// setEventRules gives the fixture's tenant the default program with the event rules.
func (f fixture) setEventRules(t *testing.T, rules []loyalty.EventRule) {
	t.Helper()
	p := loyalty.DefaultProgram()
	p.EventRules = rules
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		_, err := f.s.cfg.Engine.SetProgram(ctx, tx, f.tenant, &p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// single applies the item at index in a transaction of its own and returns its result object,
// checking it against the algorithm successResult replaced.
func (f fixture) single(t *testing.T, typ Type, index int, item string) ([]byte, error) {
	t.Helper()
	var result []byte
	err := f.db.Write(ctx, func(tx *store.Tx) error {
		res, err := typ.apply(ctx, tx, f.tenant, json.RawMessage(item))
		if err != nil {
			return err
		}
		_, id := keysOf(json.RawMessage(item))
		if result, err = successResult(index, id, typ.Message, res); err != nil {
			return err
		}
		if want, err := oracleSuccessResult(index, id, typ.Message, res); err != nil || !bytes.Equal(result, want) {
			return fmt.Errorf("result %s, where the algorithm successResult replaced writes %s (%v)", result, want, err)
		}
		return nil
	})
	if e, ok := loyalty.AsError(err); ok {
		_, id := keysOf(json.RawMessage(item))
		return failedResult(index, id, e), nil
	}
	return result, err
}

// singles sends items as single calls, each customer's in index order; different customers' calls
// run side by side, as they would from several clients.
func (f fixture) singles(t *testing.T, typ Type, items []string) map[int][]byte {
	t.Helper()
	byCustomer := map[string][]int{}
	for i, item := range items {
		_, id := keysOf(json.RawMessage(item))
		byCustomer[id] = append(byCustomer[id], i)
	}
	results := make([][]byte, len(items))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, indexes := range byCustomer {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, i := range indexes {
				res, err := f.single(t, typ, i, items[i])
				if err != nil {
					t.Errorf("item %d: %v", i, err)
					return
				}
				results[i] = res
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	out := map[int][]byte{}
	for i, r := range results {
		out[i] = r
	}
	return out
}

// state is what the tenant holds about a customer, without what differs between tenants anyway.
func (f fixture) state(t *testing.T, customerID string) string {
	t.Helper()
	var parts []string
	err := f.db.Read(ctx, func(tx *store.Tx) error {
		e := f.s.cfg.Engine
		c, err := e.Customer(ctx, tx, f.tenant, customerID)
		if le, ok := loyalty.AsError(err); ok {
			parts = append(parts, fmt.Sprint(le.Code))
			return nil
		}
		if err != nil {
			return err
		}
		c.GameballID = 0
		bal, err := e.Balance(ctx, tx, f.tenant, customerID)
		if err != nil {
			return err
		}
		parts = append(parts, string(mustJSON(c)), string(mustJSON(bal)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(parts, " ")
}

// volatile are the fields that name rows, which differ between two tenants doing the same thing.
var volatile = []string{"id", "gameballId", "gameballTransactionId", "transactionId"}

// normalized is a result without its volatile fields, in a stable form.
func normalized(t *testing.T, result []byte) string {
	t.Helper()
	if result == nil {
		return "<missing>"
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(result))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", result, err)
	}
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if slices.Contains(volatile, k) {
					delete(v, k)
				} else {
					strip(x)
				}
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(v)
	return string(mustJSON(v))
}
