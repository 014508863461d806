package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// isolationBodies are the request bodies tenant B sends to the operations that take one. Each
// {param} is replaced by the id of tenant A's object of that name, so that B's writes name A's
// objects. An operation that takes a body and is missing here fails the test: add its body.
var isolationBodies = map[string]string{
	"POST /customers":                     `{"customerId":"{customerId}","email":"b@example.com"}`,
	"POST /customers/{customerId}/tags":   `{"tags":"b-tag"}`,
	"DELETE /customers/{customerId}/tags": `{"tags":"b-tag"}`,
	"POST /events":                        `{"customerId":"{customerId}","events":{"login":{}}}`,
	"PUT /configurations/program":         `{"pointsName":"b-points"}`,
	"POST /orders":                        `{"customerId":"{customerId}","orderId":"{orderId}","orderDate":"2026-01-01T08:00:00Z","totalPaid":10}`,
	"POST /transactions/cashback":         `{"customerId":"{customerId}","transactionId":"{transactionId}","transactionTime":"2026-01-01T08:00:00Z","amount":10}`,
	"POST /transactions/manual":           `{"customerId":"{customerId}","transactionId":"{transactionId}","points":-1,"reason":"b"}`,
	"POST /transactions/hold":             `{"customerId":"{customerId}","transactionTime":"2026-01-01T08:00:00Z","pointsToHold":1}`,
	"POST /transactions/redeem":           `{"customerId":"{customerId}","transactionId":"b-redeem","transactionTime":"2026-01-01T08:00:00Z","holdReference":"{holdReference}"}`,
	"POST /transactions/refund":           `{"customerId":"{customerId}","refundTransactionId":"b-refund","reverseTransactionId":"{orderId}","transactionTime":"2026-01-01T08:00:00Z"}`,
	"POST /batch/customers":               `{"body":[{"customerId":"{customerId}"}]}`,
	"POST /batch/orders":                  `{"body":[{"customerId":"{customerId}","orderId":"{orderId}","orderDate":"2026-01-01T08:00:00Z","totalPaid":10}]}`,
	"POST /batch/orders/transactions":     `{"body":["{orderId}"]}`,
	"POST /batch/balance-inquiry":         `{"body":[{"customerId":"{customerId}"}]}`,
	"POST /batch/balance-adjustment":      `{"body":[{"customerId":"{customerId}","points":-1,"reason":"b"}]}`,
	"POST /batch/cashback":                `{"body":[{"customerId":"{customerId}","transactionId":"{transactionId}","transactionTime":"2026-01-01T08:00:00Z","amount":10}]}`,
	"POST /batch/redeem":                  `{"body":[{"customerId":"{customerId}","transactionId":"b-redeem-2","transactionTime":"2026-01-01T08:00:00Z","holdReference":"{holdReference}"}]}`,
	"POST /batch/events":                  `{"body":[{"customerId":"{customerId}","events":{"login":{}}}]}`,
}

// objects are what createObjects made for a tenant: the ids of its objects by the path parameter
// they fill, and patterns of its private data, which no other tenant may ever see.
type objects struct {
	ids     map[string]string
	private []*regexp.Regexp
}

// createObjects has the tenant create one object of each kind the server's operations can name,
// holding private data that the isolation test's other tenant never sends.
func createObjects(t testing.TB, a apptest.Tenant, ops []operation) objects {
	t.Helper()
	has := func(name string) bool { return hasOperation(ops, name) }
	call := func(method, path, body string) map[string]any {
		t.Helper()
		var out map[string]any
		if err := a.Client.Do(ctx, method, path, json.RawMessage(body), &out); err != nil {
			t.Fatalf("tenant %s: %s %s: %v", a.Name, method, path, err)
		}
		return out
	}
	literal := func(s string) *regexp.Regexp { return regexp.MustCompile(regexp.QuoteMeta(s)) }
	st := objects{ids: map[string]string{"customerId": "iso-cust"}}
	for _, s := range []string{"a-private@example.com", "A-Private-Name", "a-private-custom", "a-private-tag"} {
		st.private = append(st.private, literal(s))
	}
	call("POST", "/customers", `{"customerId":"iso-cust","email":"a-private@example.com",
		"customerAttributes":{"displayName":"A-Private-Name","custom":{"note":"a-private-custom"}}}`)
	call("POST", "/customers/iso-cust/tags", `{"tags":"a-private-tag"}`)
	if has("POST /events") {
		call("POST", "/events", `{"customerId":"iso-cust","events":{"a_private_event":{"note":"a-private-meta"}}}`)
		st.private = append(st.private, literal("a_private_event"), literal("a-private-meta"))
	}
	if has("PUT /configurations/program") {
		call("PUT", "/configurations/program", `{"pointsName":"a-private-points"}`)
		st.private = append(st.private, literal("a-private-points"))
	}
	if has("POST /orders") {
		call("POST", "/orders", `{"customerId":"iso-cust","orderId":"iso-order","orderDate":"2026-01-01T08:00:00Z","totalPaid":100}`)
		st.ids["orderId"] = "iso-order"
	}
	if has("POST /transactions/cashback") {
		call("POST", "/transactions/cashback", `{"customerId":"iso-cust","transactionId":"iso-cashback",
			"transactionTime":"2026-01-01T08:00:00Z","amount":100}`)
		st.ids["transactionId"] = "iso-cashback"
	}
	if has("POST /transactions/hold") {
		res := call("POST", "/transactions/hold", `{"customerId":"iso-cust","transactionTime":"2026-01-01T08:00:00Z","pointsToHold":1}`)
		ref, _ := res["holdReference"].(string)
		if ref == "" {
			t.Fatalf("tenant %s: the hold answer has no holdReference: %v", a.Name, res)
		}
		st.ids["holdReference"] = ref
	}
	if has("POST /batch/customers") {
		created, err := a.Client.SubmitBatch(ctx, "customers",
			[]map[string]string{{"customerId": "iso-batch-cust", "email": "a-private-batch@example.com"}}, "")
		if err != nil {
			t.Fatalf("tenant %s: submit a batch: %v", a.Name, err)
		}
		if job, err := a.Client.WaitBatch(ctx, created.JobID, 10*time.Millisecond); err != nil || job.FinishedCount != 1 {
			t.Fatalf("tenant %s: the batch did not finish: %+v, %v", a.Name, job, err)
		}
		id := fmt.Sprint(created.JobID)
		st.ids["jobId"], st.ids["batchId"] = id, id
		st.private = append(st.private, literal("iso-batch-cust"), literal("a-private-batch@example.com"),
			regexp.MustCompile(`"jobId":\s*`+id+`\b`))
	}
	return st
}

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
				tmpl, ok := isolationBodies[o.String()]
				if !ok {
					t.Fatalf("%v takes a body the isolation test does not know: add one to isolationBodies", o)
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

// fillBody replaces each {param} of a body template with the id of tenant A's object of that name,
// or with an id of B's own where A has no such object (the server lacks the route that makes one).
func fillBody(tmpl string, ids map[string]string) string {
	return pathParam.ReplaceAllStringFunc(tmpl, func(m string) string {
		if id, ok := ids[m[1:len(m)-1]]; ok {
			return id
		}
		return "b-" + m[1:len(m)-1]
	})
}

// lineDiff lists the lines only in before (-) and only in after (+).
func lineDiff(before, after string) string {
	was, is := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for _, l := range was {
		if !slices.Contains(is, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range is {
		if !slices.Contains(was, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
