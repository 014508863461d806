package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// TestTenantIsolation sends tenant B's requests to every authenticated operation of the OpenAPI
// document, naming tenant A's objects, and checks that B never sees anything of A's, gets 404 for
// A's objects, and changes nothing of A's. An operation it cannot call (a path parameter naming an
// object kind it does not create, or a body it does not know) fails the test, so that every new
// route is covered.
func TestTenantIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		a := env.NewTenant(t, "a")
		b := env.NewTenant(t, "b")
		ops := apiOperations(t, env)
		st := createObjects(t, a, ops)
		before := tenantState(t, env.App.DB, a.ID)

		var batches []int64 // B's, waited for before A's state is compared: a leak may happen late
		asB := func(o operation) int {
			t.Helper()
			path, ok := o.fill(st.ids)
			if !ok {
				t.Fatalf("%v: tenant A has no object for its path parameters %v: create one in createObjects", o, o.params())
			}
			body := ""
			if o.Body {
				tmpl, ok := requestBodies[o.String()]
				if !ok {
					t.Fatalf("%v takes a body the isolation test does not know: add one to requestBodies", o)
				}
				body = fillBody(tmpl, st.ids)
			}
			resp, text := send(t, o.Method, env.URL+path, b.Keys.APIKey, b.Keys.SecretKey, body)
			for _, p := range st.private {
				if p.MatchString(text) {
					t.Errorf("%v: tenant B's answer holds tenant A's data (%v): %s", o, p, text)
				}
			}
			if resp.StatusCode >= 500 {
				t.Errorf("%v: %d %s", o, resp.StatusCode, text)
			}
			var created struct{ JobID int64 }
			if strings.HasPrefix(o.Path, "/batch/") && o.Method == "POST" && resp.StatusCode == 200 &&
				json.Unmarshal([]byte(text), &created) == nil && created.JobID != 0 {
				batches = append(batches, created.JobID)
			}
			return resp.StatusCode
		}
		named := func(o operation) bool { return len(o.params()) > 0 }

		for _, o := range ops {
			if named(o) {
				if status := asB(o); status != 404 {
					t.Errorf("%v with tenant A's ids: tenant B got %d, want 404", o, status)
				}
			}
		}
		for _, o := range ops {
			if !named(o) && o.Method == "GET" {
				asB(o)
			}
		}
		for _, o := range ops {
			if !named(o) && o.Method != "GET" {
				asB(o) // B creates its own objects, under A's ids where it names any
			}
		}
		for _, o := range ops {
			if named(o) && o.Method == "GET" {
				asB(o) // now B may own objects of the same ids: it must see only its own
			}
		}
		for _, id := range batches {
			if _, err := b.Client.WaitBatch(ctx, id, 10*time.Millisecond); err != nil {
				t.Fatalf("tenant B's batch %d: %v", id, err)
			}
		}
		if after := tenantState(t, env.App.DB, a.ID); after != before {
			t.Fatalf("tenant B's requests changed tenant A's data:\n%s", lineDiff(before, after))
		}
	})
}
