package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/httpapi"
)

// operation is one authenticated route of the server's OpenAPI document: the tests that must
// cover every route (tenant isolation, malformed bodies, secrets in logs) iterate these, so a new
// route is covered the day it is added.
type operation struct {
	Method string
	Path   string   // relative to httpapi.BasePath, with {params}
	Body   bool     // takes a JSON request body
	Query  []string // names of its query parameters
}

func (o operation) String() string { return o.Method + " " + o.Path }

var pathParam = regexp.MustCompile(`\{([A-Za-z]\w*)\}`)

// params returns the names of the operation's path parameters, in order.
func (o operation) params() []string {
	var names []string
	for _, m := range pathParam.FindAllStringSubmatch(o.Path, -1) {
		names = append(names, m[1])
	}
	return names
}

// fill returns the operation's path with each parameter replaced by its value in values; ok is
// false when a parameter has no value.
func (o operation) fill(values map[string]string) (path string, ok bool) {
	ok = true
	path = pathParam.ReplaceAllStringFunc(o.Path, func(m string) string {
		v, found := values[m[1:len(m)-1]]
		ok = ok && found
		return url.PathEscape(v)
	})
	return httpapi.BasePath + path, ok
}

// hasOperation reports whether ops holds the operation named like "POST /customers".
func hasOperation(ops []operation, name string) bool {
	return slices.ContainsFunc(ops, func(o operation) bool { return o.String() == name })
}

// apiOperations returns the authenticated operations of the running server's GET /openapi.json,
// ordered by path and method.
func apiOperations(t testing.TB, env *apptest.Env) []operation {
	t.Helper()
	resp, body := send(t, "GET", env.URL+"/openapi.json", "", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, body)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody json.RawMessage       `json:"requestBody"`
			Security    []map[string][]string `json:"security"`
			Parameters  []struct{ Name, In string }
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("decode the OpenAPI document: %v", err)
	}
	var ops []operation
	for path, methods := range doc.Paths {
		for method, op := range methods {
			if len(op.Security) == 0 {
				continue // public: health, metrics, the document itself
			}
			rel, ok := strings.CutPrefix(path, httpapi.BasePath)
			if !ok {
				t.Fatalf("the authenticated path %s is not under %s", path, httpapi.BasePath)
			}
			o := operation{Method: strings.ToUpper(method), Path: rel, Body: len(op.RequestBody) > 0}
			for _, p := range op.Parameters {
				if p.In == "query" {
					o.Query = append(o.Query, p.Name)
				}
			}
			ops = append(ops, o)
		}
	}
	slices.SortFunc(ops, func(a, b operation) int { return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method) })
	if len(ops) == 0 {
		t.Fatal("the OpenAPI document lists no authenticated operation")
	}
	return ops
}

// send makes one request with the given keys (each left out when empty) and returns the response
// with its body read.
func send(t testing.TB, method, url, apiKey, secretKey, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if apiKey != "" {
		req.Header.Set("apikey", apiKey)
	}
	if secretKey != "" {
		req.Header.Set("secretkey", secretKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}

// requestBodies are valid request bodies of the operations that take one. Each {param} stands for
// the id of an object of that name (see fillBody): the isolation test fills in another tenant's ids,
// the others the tenant's own. An operation that takes a body and is missing here fails the tests
// that call every operation: add its body.
var requestBodies = map[string]string{
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

// fillBody replaces each {param} of a body template with the id of that name in ids, or, where ids
// has none (the server lacks the route that makes such an object), with a fresh id "b-param".
func fillBody(tmpl string, ids map[string]string) string {
	return pathParam.ReplaceAllStringFunc(tmpl, func(m string) string {
		if id, ok := ids[m[1:len(m)-1]]; ok {
			return id
		}
		return "b-" + m[1:len(m)-1]
	})
}
