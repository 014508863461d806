package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

func TestEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, _ := setup(t, d)
		write := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Write(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		var ada, bob int64
		var ids []int64 // ada's events
		write(func(tx *store.Tx) error {
			var err error
			if ada, err = tx.EnsureCustomer(ctx, tenant.ID, "ada", now); err != nil {
				return err
			}
			if bob, err = tx.EnsureCustomer(ctx, tenant.ID, "bob", now); err != nil {
				return err
			}
			// ada: review, login, review, an hour apart; bob: one review.
			for i, name := range []string{"review", "login", "review"} {
				md, err := loyalty.Metadata{"n": json.RawMessage(`1.50`), "s": json.RawMessage(`"<x>"`)}.JSON()
				if err != nil {
					return err
				}
				id, err := tx.InsertEvent(ctx, tenant.ID, ada, name, md, now.Add(time.Duration(i)*time.Hour))
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			bobsEvent, err := tx.InsertEvent(ctx, tenant.ID, bob, "review", []byte("{}"), now)
			if err != nil {
				return err
			}
			awards := []struct {
				event, customer int64
				rule            string
				points          int64
				at              time.Time
			}{
				{ids[0], ada, "review", 10, now},
				{ids[0], ada, "review-bonus", 5, now},
				{ids[2], ada, "review", 10, now.Add(2 * time.Hour)},
				{bobsEvent, bob, "review", 10, now},
			}
			for _, a := range awards {
				err := tx.InsertEventAward(ctx, a.event, a.customer, loyalty.EventAward{RuleID: a.rule, Points: a.points,
					TransactionID: "t-" + a.rule}, a.at)
				if err != nil {
					return err
				}
			}
			return nil
		})

		list := func(f store.EventFilter) []loyalty.Event {
			t.Helper()
			var events []loyalty.Event
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				events, err = tx.ListEvents(ctx, ada, f)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return events
		}
		idsOf := func(events []loyalty.Event) []int64 {
			var out []int64
			for _, e := range events {
				out = append(out, e.ID)
			}
			return out
		}
		wantIDs := func(t *testing.T, got []loyalty.Event, want ...int64) {
			t.Helper()
			if g := idsOf(got); len(g) != len(want) || (len(g) > 0 && (g[0] != want[0] || g[len(g)-1] != want[len(want)-1])) {
				t.Fatalf("got events %v, want %v", g, want)
			}
		}

		t.Run("list with awards", func(t *testing.T) {
			events := list(store.EventFilter{Limit: 10})
			wantIDs(t, events, ids...)
			first := events[0]
			if first.Event != "review" || !first.OccurredAt.Equal(now) || string(first.Metadata["n"]) != "1.50" ||
				string(first.Metadata["s"]) != `"<x>"` {
				t.Fatalf("first event: %+v", first)
			}
			if first.Points != 15 || len(first.Awards) != 2 || first.Awards[0].RuleID != "review" || first.Awards[1].TransactionID != "t-review-bonus" {
				t.Fatalf("first event's awards: %d %+v", first.Points, first.Awards)
			}
			if events[1].Points != 0 || events[1].Awards == nil || len(events[1].Awards) != 0 {
				t.Fatalf("an event without awards: %+v", events[1])
			}
		})
		t.Run("filters and cursor", func(t *testing.T) {
			wantIDs(t, list(store.EventFilter{Event: "review", Limit: 10}), ids[0], ids[2])
			wantIDs(t, list(store.EventFilter{From: now.Add(time.Hour), Limit: 10}), ids[1], ids[2])
			wantIDs(t, list(store.EventFilter{To: now.Add(time.Hour), Limit: 10}), ids[0])
			wantIDs(t, list(store.EventFilter{Limit: 2}), ids[0], ids[1])
			page := list(store.EventFilter{StartAfter: ids[0], Limit: 10})
			wantIDs(t, page, ids[1], ids[2])
			if page[1].Points != 10 {
				t.Fatalf("the awards of a later page: %+v", page[1])
			}
			wantIDs(t, list(store.EventFilter{StartAfter: ids[2], Limit: 10}))
		})
		t.Run("count awards", func(t *testing.T) {
			err := db.Read(ctx, func(tx *store.Tx) error {
				for _, c := range []struct {
					since time.Time
					want  int64
				}{{time.Time{}, 2}, {now.Add(time.Hour), 1}, {now.Add(3 * time.Hour), 0}} {
					n, err := tx.CountEventAwards(ctx, ada, "review", c.since)
					if err != nil {
						return err
					}
					if n != c.want {
						t.Errorf("awards since %v: %d, want %d", c.since, n, c.want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a rule awards once per event", func(t *testing.T) {
			err := db.Write(ctx, func(tx *store.Tx) error {
				return tx.InsertEventAward(ctx, ids[0], ada, loyalty.EventAward{RuleID: "review", Points: 10, TransactionID: "t-again"}, now)
			})
			if !store.IsUniqueViolation(err) {
				t.Fatalf("second award of a rule for one event: %v", err)
			}
		})
		summary := func(from, to time.Time) []loyalty.EventCount {
			t.Helper()
			var counts []loyalty.EventCount
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				counts, err = tx.EventSummary(ctx, tenant.ID, from, to)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return counts
		}
		t.Run("summary", func(t *testing.T) {
			got := summary(time.Time{}, time.Time{})
			want := []loyalty.EventCount{{Event: "login", Count: 1, Customers: 1}, {Event: "review", Count: 3, Customers: 2, Points: 35}}
			if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("summary: %+v, want %+v", got, want)
			}
			got = summary(now.Add(time.Hour), now.Add(3*time.Hour))
			want = []loyalty.EventCount{{Event: "login", Count: 1, Customers: 1}, {Event: "review", Count: 1, Customers: 1, Points: 10}}
			if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
				t.Fatalf("summary of a range: %+v, want %+v", got, want)
			}
			if got := summary(now.Add(-time.Hour), now); got == nil || len(got) != 0 {
				t.Fatalf("summary of an empty range: %#v", got)
			}
		})
		t.Run("tenant isolation", func(t *testing.T) {
			var other loyalty.Tenant
			write(func(tx *store.Tx) error {
				var err error
				other, _, err = tx.CreateTenant(ctx, "other", now)
				return err
			})
			var counts []loyalty.EventCount
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				counts, err = tx.EventSummary(ctx, other.ID, time.Time{}, time.Time{})
				return err
			})
			if err != nil || len(counts) != 0 {
				t.Fatalf("another tenant's summary: %+v %v", counts, err)
			}
		})
		t.Run("deleting the customer deletes their events", func(t *testing.T) {
			write(func(tx *store.Tx) error { return tx.DeleteCustomer(ctx, tenant.ID, "ada") })
			got := summary(time.Time{}, time.Time{})
			if len(got) != 1 || got[0] != (loyalty.EventCount{Event: "review", Count: 1, Customers: 1, Points: 10}) {
				t.Fatalf("summary after deleting ada: %+v", got)
			}
			wantIDs(t, list(store.EventFilter{Limit: 10}))
		})
	})
}
