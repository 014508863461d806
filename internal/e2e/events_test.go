package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// eventRules is a program's event rules covering every condition operator and both caps.
var eventRules = []loyalty.EventRule{
	{Event: "signup", Points: 100, MaxPerCustomer: 1},
	{Event: "review", Points: 10, MaxPerCustomerPerDay: 2},
	{ID: "five_stars", Event: "review", Points: 50, Conditions: []loyalty.Condition{
		{Key: "rating", Op: loyalty.OpEq, Value: json.RawMessage(`5`)}}},
	{Event: "purchase", Points: 20, Conditions: []loyalty.Condition{
		{Key: "amount", Op: loyalty.OpGte, Value: json.RawMessage(`100`)},
		{Key: "channel", Op: loyalty.OpIn, Value: json.RawMessage(`["web", "app"]`)}}},
	{ID: "big_purchase", Event: "purchase", Points: 30, Conditions: []loyalty.Condition{
		{Key: "amount", Op: loyalty.OpGt, Value: json.RawMessage(`500`)}}},
	{ID: "small_purchase", Event: "purchase", Points: 1, Conditions: []loyalty.Condition{
		{Key: "amount", Op: loyalty.OpLt, Value: json.RawMessage(`10`)}}},
	{ID: "modest_purchase", Event: "purchase", Points: 2, Conditions: []loyalty.Condition{
		{Key: "amount", Op: loyalty.OpLte, Value: json.RawMessage(`10`)}}},
}

// setEventRules gives the tenant the default program with rules.
func setEventRules(t *testing.T, env *apptest.Env, tn apptest.Tenant, rules []loyalty.EventRule) {
	t.Helper()
	p := loyalty.DefaultProgram()
	p.EventRules = rules
	err := env.App.DB.Write(ctx, func(tx *store.Tx) error {
		_, err := env.App.Engine.SetProgram(ctx, tx, tn.ID, &p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// balanceOf returns the customer's balance as the points engine computes it.
func balanceOf(t *testing.T, env *apptest.Env, tn apptest.Tenant, customerID string) engine.BalanceResult {
	t.Helper()
	var b engine.BalanceResult
	err := env.App.DB.Read(ctx, func(tx *store.Tx) error {
		var err error
		b, err = env.App.Engine.Balance(ctx, tx, tn.ID, customerID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendEvent sends one event and returns the points it earned.
func sendEvent(t *testing.T, c *client.Client, customerID, name string, md map[string]any) int64 {
	t.Helper()
	res, err := c.SendEvents(ctx, client.EventsRequest{CustomerID: customerID, Events: map[string]map[string]any{name: md}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Points
}

// TestEvents runs the events suite on one server per database: starting one costs more than the
// tests themselves.
func TestEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		t.Run("rules and reads", func(t *testing.T) { testEventRules(t, env) })
		t.Run("validation", func(t *testing.T) { testEventValidation(t, env) })
		t.Run("batch matches single calls", func(t *testing.T) { testEventsBatch(t, env) })
	})
}

func testEventRules(t *testing.T, env *apptest.Env) {
	a := env.NewTenant(t, "a")
	setEventRules(t, env, a, eventRules)

	t.Run("unknown customer is created and earns into the ledger", func(t *testing.T) {
		res, err := a.PublicKey.SendEvents(ctx, client.EventsRequest{CustomerID: "ada", Events: map[string]map[string]any{
			"signup": nil, "review": {"rating": 5, "text": "<b>great</b>"}, "app_open": {}}})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Success || res.Message == "" || res.CustomerID != "ada" || res.Points != 160 || len(res.Events) != 3 {
			t.Fatalf("answer: %+v", res)
		}
		names := []string{res.Events[0].Event, res.Events[1].Event, res.Events[2].Event}
		if !slices.Equal(names, []string{"app_open", "review", "signup"}) {
			t.Fatalf("events not in name order: %v", names)
		}
		review := res.Events[1]
		if review.Points != 60 || len(review.Awards) != 2 || review.Awards[0].RuleID != "review" || review.Awards[1].RuleID != "five_stars" {
			t.Fatalf("review awards: %+v", review)
		}
		if _, err := a.Client.GetCustomer(ctx, "ada"); err != nil {
			t.Fatalf("the customer was not created: %v", err)
		}
		if b := balanceOf(t, env, a, "ada"); b.AvailablePointsBalance != 160 || b.TotalEarnedPoints != 160 {
			t.Fatalf("balance: %+v", b)
		}
		// Every award is a ledger transaction with the award's id.
		err = env.App.DB.Read(ctx, func(tx *store.Tx) error {
			for _, ev := range res.Events {
				for _, aw := range ev.Awards {
					txns, err := tx.TxnGroup(ctx, a.ID, aw.TransactionID)
					if err != nil {
						return err
					}
					if len(txns) != 1 || txns[0].Points != aw.Points || txns[0].Kind != loyalty.KindAchievementReward {
						t.Errorf("ledger of %s: %+v", aw.TransactionID, txns)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a replayed award is refused", func(t *testing.T) {
		page, err := a.Client.CustomerEvents(ctx, "ada", client.EventQuery{Event: "signup"})
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("signup event: %+v %v", page, err)
		}
		award := page.Events[0].Awards[0]
		err = env.App.DB.Write(ctx, func(tx *store.Tx) error {
			_, err := env.App.Engine.Award(ctx, tx, a.ID, engine.Award{CustomerID: "ada", Points: award.Points,
				Kind: loyalty.KindAchievementReward, TransactionID: award.TransactionID})
			return err
		})
		if e, ok := loyalty.AsError(err); !ok || e.Code != loyalty.CodeDuplicate {
			t.Fatalf("awarding %s again: %v, want 9004", award.TransactionID, err)
		}
		if b := balanceOf(t, env, a, "ada"); b.AvailablePointsBalance != 160 {
			t.Fatalf("balance after the refused replay: %+v", b)
		}
	})

	t.Run("conditions", func(t *testing.T) {
		cases := []struct {
			md   map[string]any
			want int64
		}{
			{map[string]any{"amount": 150, "channel": "web"}, 20},   // gte and in
			{map[string]any{"amount": 150, "channel": "pos"}, 0},    // in fails
			{map[string]any{"amount": "600", "channel": "pos"}, 30}, // gt, on a numeric string
			{map[string]any{"amount": 600, "channel": "app"}, 50},   // two rules
			{map[string]any{"amount": 9.99}, 3},                     // lt and lte
			{map[string]any{"amount": 10}, 2},                       // lte only
			{map[string]any{"channel": "web"}, 0},                   // no amount
		}
		for _, c := range cases {
			if got := sendEvent(t, a.PublicKey, "cleo", "purchase", c.md); got != c.want {
				t.Errorf("purchase %v earned %d, want %d", c.md, got, c.want)
			}
		}
		if b := balanceOf(t, env, a, "cleo"); b.AvailablePointsBalance != 105 {
			t.Fatalf("balance: %+v", b)
		}
	})

	t.Run("total cap", func(t *testing.T) {
		if got := sendEvent(t, a.PublicKey, "ada", "signup", nil); got != 0 {
			t.Fatalf("a second signup earned %d", got)
		}
		if got := sendEvent(t, a.PublicKey, "dan", "signup", nil); got != 100 {
			t.Fatalf("another customer's signup earned %d", got)
		}
	})

	t.Run("email and mobile fill an empty profile", func(t *testing.T) {
		send := func(email string) {
			t.Helper()
			_, err := a.PublicKey.SendEvents(ctx, client.EventsRequest{CustomerID: "eve", Email: email, Mobile: "+100",
				Events: map[string]map[string]any{"app_open": nil}})
			if err != nil {
				t.Fatal(err)
			}
		}
		send("eve@example.com")
		send("other@example.com")
		c, err := a.Client.CustomerDetails(ctx, "eve")
		if err != nil || c.Email != "eve@example.com" || c.Mobile != "+100" {
			t.Fatalf("profile: %+v %v", c, err)
		}
	})

	t.Run("daily cap per UTC day", func(t *testing.T) {
		// ada's first review today earned the capped rule once.
		if got := sendEvent(t, a.PublicKey, "ada", "review", map[string]any{"rating": 4}); got != 10 {
			t.Fatalf("second review today earned %d", got)
		}
		if got := sendEvent(t, a.PublicKey, "ada", "review", map[string]any{"rating": 5}); got != 50 {
			t.Fatalf("third review today earned %d; only the uncapped rule should pay", got)
		}
		now := env.Clock.Now()
		midnight := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
		env.Clock.Advance(midnight.Sub(now) - time.Second)
		if got := sendEvent(t, a.PublicKey, "ada", "review", nil); got != 0 {
			t.Fatalf("a review at 23:59:59 UTC earned %d", got)
		}
		env.Clock.Advance(time.Second)
		if got := sendEvent(t, a.PublicKey, "ada", "review", nil); got != 10 {
			t.Fatalf("a review at midnight UTC earned %d", got)
		}
	})

	t.Run("list", func(t *testing.T) {
		var all []client.Event
		cursor := ""
		for pages := 0; ; pages++ {
			page, err := a.Client.CustomerEvents(ctx, "ada", client.EventQuery{Limit: 2, StartAfter: cursor})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page.Events...)
			if !page.HasMore {
				if page.NextCursor != "" || pages != 3 {
					t.Fatalf("last page: %+v after %d pages", page, pages)
				}
				break
			}
			cursor = page.NextCursor
		}
		// app_open, review, signup, signup, review x4
		var text string
		if len(all) != 8 || all[1].Event != "review" || string(all[1].Metadata["rating"]) != "5" ||
			json.Unmarshal(all[1].Metadata["text"], &text) != nil || text != "<b>great</b>" || all[1].Points != 60 || len(all[1].Awards) != 2 {
			t.Fatalf("events: %+v", all)
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID <= all[i-1].ID || all[i].OccurredAt.Before(all[i-1].OccurredAt) {
				t.Fatalf("not oldest first: %+v", all)
			}
		}
		reviews, err := a.Client.CustomerEvents(ctx, "ada", client.EventQuery{Event: "review"})
		if err != nil || len(reviews.Events) != 5 {
			t.Fatalf("reviews: %d %v", len(reviews.Events), err)
		}
		today := env.Clock.Now().Truncate(24 * time.Hour)
		recent, err := a.Client.CustomerEvents(ctx, "ada", client.EventQuery{From: today})
		if err != nil || len(recent.Events) != 1 || recent.Events[0].Points != 10 {
			t.Fatalf("today's events: %+v %v", recent, err)
		}
		earlier, err := a.Client.CustomerEvents(ctx, "ada", client.EventQuery{Event: "review", To: today})
		if err != nil || len(earlier.Events) != 4 {
			t.Fatalf("earlier reviews: %d %v", len(earlier.Events), err)
		}
	})

	t.Run("summary", func(t *testing.T) {
		s, err := a.Client.EventSummary(ctx, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := []client.EventCount{
			{Event: "app_open", Count: 3, Customers: 2},
			{Event: "purchase", Count: 7, Customers: 1, Points: 105},
			{Event: "review", Count: 5, Customers: 1, Points: 60 + 10 + 50 + 10},
			{Event: "signup", Count: 3, Customers: 2, Points: 200},
		}
		if s.From != nil || s.To != nil || !slices.Equal(s.Events, want) {
			t.Fatalf("summary: %+v, want %+v", s, want)
		}
		today := env.Clock.Now().Truncate(24 * time.Hour)
		s, err = a.Client.EventSummary(ctx, today, today.Add(24*time.Hour))
		want = []client.EventCount{{Event: "review", Count: 1, Customers: 1, Points: 10}}
		if err != nil || s.From == nil || !s.From.Equal(today) || !slices.Equal(s.Events, want) {
			t.Fatalf("today's summary: %+v %v", s, err)
		}
		var text map[string]any
		if err := a.Client.Send(ctx, client.Request{Method: "GET", Path: "/events/summary?from=2026-01-02&to=2026-01-03"}, &text); err != nil ||
			text["from"] != "2026-01-02T00:00:00Z" {
			t.Fatalf("summary by dates: %v %v", text, err)
		}
	})

	t.Run("reads need the secret key and stay in the tenant", func(t *testing.T) {
		_, err := a.PublicKey.CustomerEvents(ctx, "ada", client.EventQuery{})
		wantError(t, err, http.StatusUnauthorized, 1001)
		_, err = a.PublicKey.EventSummary(ctx, time.Time{}, time.Time{})
		wantError(t, err, http.StatusUnauthorized, 1001)
		_, err = a.Client.CustomerEvents(ctx, "nobody", client.EventQuery{})
		wantError(t, err, http.StatusNotFound, 7000)
		b := env.NewTenant(t, "b")
		_, err = b.Client.CustomerEvents(ctx, "ada", client.EventQuery{})
		wantError(t, err, http.StatusNotFound, 7000)
		s, err := b.Client.EventSummary(ctx, time.Time{}, time.Time{})
		if err != nil || s.Events == nil || len(s.Events) != 0 {
			t.Fatalf("another tenant's summary: %+v %v", s, err)
		}
	})

	t.Run("bad queries", func(t *testing.T) {
		for _, q := range []string{"?from=yesterday", "?to=2026-13-01", "?from=2026-01-02&to=2026-01-01",
			"?startAfter=abc", "?limit=0", "?event=no%20spaces"} {
			e := wantError(t, raw(a.Client, "GET", "/customers/ada/events"+q, ""), http.StatusUnprocessableEntity, 3003)
			if len(e.Errors) != 1 {
				t.Errorf("%s: errors %+v", q, e.Errors)
			}
		}
	})
}

func testEventValidation(t *testing.T, env *apptest.Env) {
	a := env.NewTenant(t, "v")
	setEventRules(t, env, a, eventRules)
	manyEvents := make([]string, loyalty.MaxEventsPerRequest+1)
	for i := range manyEvents {
		manyEvents[i] = fmt.Sprintf(`"e%d":{}`, i)
	}
	body := func(events string) string { return `{"customerId":"zed","events":` + events + `}` }
	cases := []struct {
		name, body   string
		status, code int
		field        string
	}{
		{"no events", `{"customerId":"zed"}`, 400, 3000, "events"},
		{"events not an object", body(`["signup"]`), 422, 3003, "events"},
		{"too many events", body(`{` + strings.Join(manyEvents, ",") + `}`), 422, 3003, "events"},
		{"bad event name", body(`{"sign up":{}}`), 422, 3003, "events.sign up"},
		{"metadata not an object", body(`{"signup":"yes"}`), 422, 3003, "events.signup"},
		{"bad metadata key", body(`{"signup":{"ref.code":"x"}}`), 422, 3003, "events.signup.ref.code"},
		{"metadata too deep", body(`{"signup":{"a":{"b":{"c":{"d":{"e":1}}}}}}`), 422, 3003, "events.signup.a"},
		{"metadata too large", body(`{"signup":{"a":"` + strings.Repeat("x", loyalty.MaxMetadataBytes) + `"}}`), 422, 3003, "events.signup"},
		{"bad customerId", `{"customerId":" zed","events":{"signup":{}}}`, 422, 3003, "customerId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := wantError(t, raw(a.PublicKey, http.MethodPost, "/events", c.body), c.status, c.code)
			if len(e.Errors) == 0 || e.Errors[0].Field != c.field {
				t.Fatalf("errors %+v, want field %q", e.Errors, c.field)
			}
		})
	}
	// Nothing was stored: not even the customer.
	_, err := a.Client.GetCustomer(ctx, "zed")
	wantError(t, err, http.StatusNotFound, 7000)
	s, err := a.Client.EventSummary(ctx, time.Time{}, time.Time{})
	if err != nil || len(s.Events) != 0 {
		t.Fatalf("summary after rejected calls: %+v %v", s, err)
	}
}

// storedEvent is an event as the equivalence test compares it: without ids, which differ between
// tenants.
type storedEvent struct {
	Event, Metadata string
	OccurredAt      time.Time
	Points          int64
	Rules           string
}

func testEventsBatch(t *testing.T, env *apptest.Env) {
	single, batched := env.NewTenant(t, "single"), env.NewTenant(t, "batched")
	var items []client.EventsRequest
	for i := range 30 {
		customer := fmt.Sprintf("c%d", i%4)
		items = append(items, client.EventsRequest{CustomerID: customer, Events: map[string]map[string]any{
			"review":   {"rating": i % 6},
			"purchase": {"amount": i * 37 % 700, "channel": []string{"web", "pos", "app"}[i%3]},
			"signup":   nil,
		}})
	}
	items = append(items, client.EventsRequest{CustomerID: "c0", Events: map[string]map[string]any{"bad name": nil}})
	for _, tn := range []apptest.Tenant{single, batched} {
		setEventRules(t, env, tn, eventRules)
	}
	for _, it := range items[:len(items)-1] {
		if _, err := single.PublicKey.SendEvents(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	created, err := batched.Client.SubmitBatch(ctx, "events", items, "")
	if err != nil {
		t.Fatal(err)
	}
	job, err := batched.Client.WaitBatch(ctx, created.JobID, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != client.BatchCompleted || job.FinishedCount != len(items)-1 || job.ErrorCount != 1 {
		t.Fatalf("job: %+v", job)
	}

	for i := range 4 {
		customer := fmt.Sprintf("c%d", i)
		want, got := storedEvents(t, single.Client, customer), storedEvents(t, batched.Client, customer)
		if !slices.Equal(got, want) {
			t.Fatalf("%s's events: batch\n%+v\nsingle calls\n%+v", customer, got, want)
		}
		w, g := balanceOf(t, env, single, customer), balanceOf(t, env, batched, customer)
		if g.TotalPointsBalance != w.TotalPointsBalance || g.AvailablePointsBalance != w.AvailablePointsBalance ||
			g.PendingPoints != w.PendingPoints || g.TotalEarnedPoints != w.TotalEarnedPoints || w.TotalEarnedPoints == 0 {
			t.Fatalf("%s's balance: batch %+v, single calls %+v", customer, g, w)
		}
	}
	ws, err := single.Client.EventSummary(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := batched.Client.EventSummary(ctx, time.Time{}, time.Time{})
	if err != nil || !slices.Equal(gs.Events, ws.Events) || len(gs.Events) != 3 {
		t.Fatalf("summary: batch %+v, single calls %+v (%v)", gs.Events, ws.Events, err)
	}
}

// storedEvents reads all of a customer's events.
func storedEvents(t *testing.T, c *client.Client, customerID string) []storedEvent {
	t.Helper()
	var out []storedEvent
	cursor := ""
	for {
		page, err := c.CustomerEvents(context.Background(), customerID, client.EventQuery{Limit: 200, StartAfter: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			md, _ := json.Marshal(e.Metadata)
			var rules []string
			for _, a := range e.Awards {
				rules = append(rules, fmt.Sprintf("%s:%d", a.RuleID, a.Points))
			}
			out = append(out, storedEvent{Event: e.Event, Metadata: string(md), OccurredAt: e.OccurredAt, Points: e.Points,
				Rules: strings.Join(rules, ",")})
		}
		if !page.HasMore {
			return out
		}
		cursor = page.NextCursor
	}
}
