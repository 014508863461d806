package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/apptest"
)

// objects are what createObjects made for a tenant: the ids of its objects by the path parameter
// they fill, and patterns of its private data, which no other tenant may ever see.
type objects struct {
	ids     map[string]string
	private []*regexp.Regexp
}

// createObjects has the tenant create one object of each kind the server's operations can name,
// holding private data that the isolation test's other tenant never sends.
func createObjects(t testing.TB, tn apptest.Tenant, ops []operation) objects {
	t.Helper()
	has := func(name string) bool { return hasOperation(ops, name) }
	call := func(method, path, body string) map[string]any {
		t.Helper()
		var out map[string]any
		if err := tn.Client.Do(ctx, method, path, json.RawMessage(body), &out); err != nil {
			t.Fatalf("tenant %s: %s %s: %v", tn.Name, method, path, err)
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
			t.Fatalf("tenant %s: the hold answer has no holdReference: %v", tn.Name, res)
		}
		st.ids["holdReference"] = ref
	}
	if has("POST /batch/customers") {
		created, err := tn.Client.SubmitBatch(ctx, "customers",
			[]map[string]string{{"customerId": "iso-batch-cust", "email": "a-private-batch@example.com"}}, "")
		if err != nil {
			t.Fatalf("tenant %s: submit a batch: %v", tn.Name, err)
		}
		if job, err := tn.Client.WaitBatch(ctx, created.JobID, 10*time.Millisecond); err != nil || job.FinishedCount != 1 {
			t.Fatalf("tenant %s: the batch did not finish: %+v, %v", tn.Name, job, err)
		}
		id := fmt.Sprint(created.JobID)
		st.ids["jobId"], st.ids["batchId"] = id, id
		st.private = append(st.private, literal("iso-batch-cust"), literal("a-private-batch@example.com"),
			regexp.MustCompile(`"jobId":\s*`+id+`\b`))
	}
	return st
}
