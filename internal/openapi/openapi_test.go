package openapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/openapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type Audit struct {
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

type Money struct {
	Amount   json.Number `json:"amount" doc:"Decimal amount." example:"12.50"`
	Currency string      `json:"currency" enum:"EGP, USD"`
}

// Extra is embedded through a pointer: its fields are absent when the pointer is nil.
type Extra struct {
	Note string `json:"note"`
}

type Customer struct {
	Audit
	*Extra
	ID        string                     `json:"customerId" doc:"Your id." example:"c-1"`
	Name      *string                    `json:"name"`
	Balance   Money                      `json:"balance"`
	Previous  *Money                     `json:"previous,omitempty" doc:"Before the last change."`
	Tags      []string                   `json:"tags,omitempty" enum:"vip,new"`
	Level     *string                    `json:"level" enum:"gold,silver"`
	Custom    map[string]json.RawMessage `json:"custom,omitempty"`
	Any       any                        `json:"any,omitempty"`
	Avatar    []byte                     `json:"avatar,omitempty"`
	Points    int64                      `json:"points" example:"42"`
	Count     uint8                      `json:"count,omitempty"`
	Ratio     float64                    `json:"ratio,string,omitempty"`
	Grid      [2]bool                    `json:"grid,omitempty"`
	ByID      map[int]Money              `json:"byId,omitempty"`
	Inline    struct{ X int }            `json:"inline"`
	Referrer  *Customer                  `json:"referrer,omitempty"`
	Secret    string                     `json:"-"`
	Untagged  string
	CreatedAt string `json:"-"` // hidden, so the promoted Audit.CreatedAt is not shadowed
	internal  int
}

// Error clashes with the shared error schema; Userinfo with net/url's.
type (
	Error    struct{ Reason string }
	Userinfo struct{ Login string }
)

type Clashes struct {
	Mine   Error        `json:"mine"`
	URLErr url.Error    `json:"urlErr"`
	Users  [2]*Userinfo `json:"users"`
	Theirs url.Userinfo `json:"theirs"`
}

func sampleOps() []openapi.Operation {
	return []openapi.Operation{
		{Method: "GET", Path: "/healthz", Summary: "Health", Tags: []string{"Operations"}, Public: true},
		{Method: "POST", Path: "/api/v4.0/integrations/customers", Summary: "Upsert", Tags: []string{"Customers"},
			Request: Customer{}, Response: &Customer{}, Errors: []int{400, 401}},
		{Method: "GET", Path: "/api/v4.0/integrations/customers/{customerId}", Tags: []string{"Customers"},
			Response: Customer{}, Errors: []int{404}, Query: []openapi.Param{{Name: "full", Type: "boolean", Description: "Everything."}}},
		{Method: "DELETE", Path: "/api/v4.0/integrations/customers/{customerId}", Secret: true, Status: 204, Errors: []int{404}},
		{Method: "POST", Path: "/batch", Request: []Customer{}, Response: map[string]Money{}},
		{Method: "GET", Path: "/files/{rest...}", Response: Clashes{}},
		{Method: "GET", Path: "/a-b", Public: true},
		{Method: "GET", Path: "/a_b/{$}", Public: true},
	}
}

func document(t *testing.T, ops []openapi.Operation) map[string]any {
	t.Helper()
	b, err := openapi.Document(openapi.Info{Title: "T", Version: "1", Servers: []string{"http://localhost:8080"}}, ops)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return doc
}

// at walks a decoded JSON document along keys (object keys or array indexes as strings).
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var n int
			if err := json.Unmarshal([]byte(k), &n); err != nil || n >= len(x) {
				t.Fatalf("%s: no index %s", strings.Join(keys[:i], "/"), k)
			}
			v = x[n]
		default:
			t.Fatalf("%s: not a container: %v", strings.Join(keys[:i], "/"), v)
		}
		if v == nil && i < len(keys)-1 {
			t.Fatalf("%s: missing", strings.Join(keys[:i+1], "/"))
		}
	}
	return v
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s = %s, want %s", what, g, w)
	}
}

func TestDocumentStructure(t *testing.T) {
	doc := document(t, sampleOps())
	equal(t, "openapi", doc["openapi"], "3.1.0")
	equal(t, "servers", doc["servers"], []any{map[string]any{"url": "http://localhost:8080"}})
	equal(t, "tags", doc["tags"], []any{map[string]any{"name": "Customers"}, map[string]any{"name": "Operations"}})

	paths := doc["paths"].(map[string]any)
	var names []string
	for p := range paths {
		names = append(names, p)
	}
	for _, want := range []string{"/healthz", "/api/v4.0/integrations/customers", "/api/v4.0/integrations/customers/{customerId}",
		"/batch", "/files/{rest}", "/a-b", "/a_b/"} {
		if paths[want] == nil {
			t.Errorf("no path %s in %v", want, names)
		}
	}

	one := "/api/v4.0/integrations/customers/{customerId}"
	equal(t, "get parameters", at(t, paths, one, "get", "parameters"), []any{
		map[string]any{"name": "customerId", "in": "path", "required": true, "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "full", "in": "query", "description": "Everything.", "required": false, "schema": map[string]any{"type": "boolean"}},
	})
	equal(t, "wildcard parameter", at(t, paths, "/files/{rest}", "get", "parameters", "0", "name"), "rest")

	// Security: apikey by default, both keys when Secret, none when Public.
	equal(t, "get security", at(t, paths, one, "get", "security"), []any{map[string]any{"apikey": []any{}}})
	equal(t, "delete security", at(t, paths, one, "delete", "security"), []any{map[string]any{"apikey": []any{}, "secretkey": []any{}}})
	equal(t, "public security", at(t, paths, "/healthz", "get", "security"), []any{})
	equal(t, "schemes", at(t, doc, "components", "securitySchemes", "secretkey"),
		map[string]any{"type": "apiKey", "in": "header", "name": "secretkey", "description": "The tenant's secret key; required by the operations that list it."})

	// Statuses, bodies and the shared error schema.
	equal(t, "204", at(t, paths, one, "delete", "responses", "204"), map[string]any{"description": "No Content"})
	errRef := map[string]any{"$ref": "#/components/schemas/Error"}
	equal(t, "404", at(t, paths, one, "delete", "responses", "404", "content", "application/json", "schema"), errRef)
	post := at(t, paths, "/api/v4.0/integrations/customers", "post")
	custRef := map[string]any{"$ref": "#/components/schemas/Customer"}
	equal(t, "request", at(t, post, "requestBody"), map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": custRef}}})
	equal(t, "response", at(t, post, "responses", "200", "content", "application/json", "schema"), custRef)
	equal(t, "array request", at(t, paths, "/batch", "post", "requestBody", "content", "application/json", "schema"),
		map[string]any{"type": "array", "items": custRef})
	equal(t, "map response", at(t, paths, "/batch", "post", "responses", "200", "content", "application/json", "schema"),
		map[string]any{"type": "object", "additionalProperties": map[string]any{"$ref": "#/components/schemas/Money"}})
	equal(t, "error schema required", at(t, doc, "components", "schemas", "Error", "required"), []string{"code", "type", "message", "requestId"})
	equal(t, "error items", at(t, doc, "components", "schemas", "Error", "properties", "errors", "items", "required"), []string{"field", "message"})

	// Operation ids are unique even when two paths spell the same words.
	ids := map[string]string{}
	for p, item := range paths {
		for m, op := range item.(map[string]any) {
			id := at(t, op, "operationId").(string)
			if prev, dup := ids[id]; dup {
				t.Errorf("operationId %s on %s %s and %s", id, m, p, prev)
			}
			ids[id] = m + " " + p
		}
	}
	equal(t, "operationId", at(t, paths, one, "get", "operationId"), "getApiV40IntegrationsCustomersByCustomerId")
	equal(t, "operationIds", []any{at(t, paths, "/a-b", "get", "operationId"), at(t, paths, "/a_b/", "get", "operationId")}, []string{"getAB", "getAB2"})
}

func TestSchemas(t *testing.T) {
	schemas := at(t, document(t, sampleOps()), "components", "schemas").(map[string]any)
	c := schemas["Customer"]
	props := at(t, c, "properties").(map[string]any)
	equal(t, "required", at(t, c, "required"), []string{"createdAt", "customerId", "balance", "points", "inline", "Untagged"})
	for _, hidden := range []string{"Secret", "internal", "Audit", "Extra"} {
		if _, ok := props[hidden]; ok {
			t.Errorf("property %s should not be there", hidden)
		}
	}
	want := map[string]any{
		"createdAt":  map[string]any{"type": "string", "format": "date-time"},
		"updatedAt":  map[string]any{"type": []string{"string", "null"}, "format": "date-time"},
		"note":       map[string]any{"type": "string"},
		"customerId": map[string]any{"type": "string", "description": "Your id.", "examples": []string{"c-1"}},
		"name":       map[string]any{"type": []string{"string", "null"}},
		"balance":    map[string]any{"$ref": "#/components/schemas/Money"},
		"previous": map[string]any{"description": "Before the last change.",
			"anyOf": []any{map[string]any{"$ref": "#/components/schemas/Money"}, map[string]any{"type": "null"}}},
		"tags":     map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"vip", "new"}}},
		"level":    map[string]any{"type": []string{"string", "null"}, "enum": []any{"gold", "silver", nil}},
		"custom":   map[string]any{"type": "object", "additionalProperties": map[string]any{}},
		"any":      map[string]any{},
		"avatar":   map[string]any{"type": "string", "contentEncoding": "base64"},
		"points":   map[string]any{"type": "integer", "format": "int64", "examples": []int{42}},
		"count":    map[string]any{"type": "integer", "format": "int32", "minimum": 0},
		"ratio":    map[string]any{"type": "string"},
		"grid":     map[string]any{"type": "array", "items": map[string]any{"type": "boolean"}, "minItems": 2, "maxItems": 2},
		"byId":     map[string]any{"type": "object", "additionalProperties": map[string]any{"$ref": "#/components/schemas/Money"}},
		"inline":   map[string]any{"type": "object", "properties": map[string]any{"X": map[string]any{"type": "integer", "format": "int64"}}, "required": []string{"X"}},
		"referrer": map[string]any{"anyOf": []any{map[string]any{"$ref": "#/components/schemas/Customer"}, map[string]any{"type": "null"}}},
		"Untagged": map[string]any{"type": "string"},
	}
	for name, w := range want {
		equal(t, "Customer."+name, props[name], w)
	}
	if len(props) != len(want) {
		t.Errorf("Customer has %d properties, want %d", len(props), len(want))
	}
	equal(t, "Money", schemas["Money"], map[string]any{"type": "object", "properties": map[string]any{
		"amount":   map[string]any{"type": "number", "description": "Decimal amount.", "examples": []float64{12.50}},
		"currency": map[string]any{"type": "string", "enum": []string{"EGP", "USD"}},
	}, "required": []string{"amount", "currency"}})

	// Name clashes: with the shared Error schema and between packages.
	cl := at(t, schemas, "Clashes", "properties")
	equal(t, "mine", at(t, cl, "mine", "$ref"), "#/components/schemas/openapi_test.Error")
	equal(t, "urlErr", at(t, cl, "urlErr", "$ref"), "#/components/schemas/url.Error")
	equal(t, "users", at(t, cl, "users", "items", "anyOf", "0", "$ref"), "#/components/schemas/openapi_test.Userinfo")
	equal(t, "theirs", at(t, cl, "theirs", "$ref"), "#/components/schemas/url.Userinfo")
	equal(t, "url.Error", at(t, schemas, "url.Error", "properties", "Err"), map[string]any{})
	for name := range schemas {
		if !regexpName(name) {
			t.Errorf("component name %q is not allowed by OpenAPI", name)
		}
	}
}

func regexpName(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
}

// TestPropertyOrder checks properties keep Go declaration order in the raw output, which unmarshalling into a map hides.
func TestPropertyOrder(t *testing.T) {
	b, err := openapi.Document(openapi.Info{Title: "T"}, []openapi.Operation{{Method: "GET", Path: "/m", Response: Money{}}})
	if err != nil {
		t.Fatal(err)
	}
	if a, c := bytes.Index(b, []byte(`"amount"`)), bytes.Index(b, []byte(`"currency"`)); a < 0 || c < a {
		t.Errorf("amount should come before currency:\n%s", b)
	}
}

func TestDeterministic(t *testing.T) {
	info := openapi.Info{Title: "T", Version: "1"}
	want, err := openapi.Document(info, sampleOps())
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		ops := sampleOps()
		rand.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		got, err := openapi.Document(info, ops)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("the document depends on the order of the operations")
		}
	}
}

func TestDocumentErrors(t *testing.T) {
	type bad struct {
		C chan int `json:"c"`
	}
	type badEnum struct {
		F float64 `json:"f" enum:"1,2"`
	}
	type badExample struct {
		N int `json:"n" example:"many"`
	}
	for name, ops := range map[string][]openapi.Operation{
		"chan":          {{Method: "POST", Path: "/x", Request: bad{}}},
		"enum on float": {{Method: "GET", Path: "/x", Response: badEnum{}}},
		"bad example":   {{Method: "GET", Path: "/x", Response: badExample{}}},
		"map key":       {{Method: "GET", Path: "/x", Response: map[[2]int]string{}}},
		"lower method":  {{Method: "get", Path: "/x"}},
		"no slash":      {{Method: "GET", Path: "x"}},
		"half param":    {{Method: "GET", Path: "/x/a{id}"}},
		"repeated":      {{Method: "GET", Path: "/x/{id}/{id}"}},
		"inner rest":    {{Method: "GET", Path: "/x/{id...}/y"}},
		"query type":    {{Method: "GET", Path: "/x", Query: []openapi.Param{{Name: "q", Type: "date"}}}},
		"error status":  {{Method: "GET", Path: "/x", Errors: []int{200}}},
		"duplicate":     {{Method: "GET", Path: "/x"}, {Method: "GET", Path: "/x"}},
	} {
		_, err := openapi.Document(openapi.Info{Title: "T"}, ops)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "openapi: ") || !strings.Contains(err.Error(), " x") && !strings.Contains(err.Error(), "/x") {
			t.Errorf("%s: error lacks context: %v", name, err)
		}
	}
	_, err := openapi.Document(openapi.Info{}, []openapi.Operation{{Method: "POST", Path: "/x", Request: bad{}}})
	if err == nil || !strings.Contains(err.Error(), "bad.C") {
		t.Errorf("error should name the field: %v", err)
	}
}

// TestGolden pins the whole output for a small document; run with -update after an intended change.
func TestGolden(t *testing.T) {
	type Reward struct {
		Points  int64      `json:"points" doc:"Points granted." example:"100"`
		Reason  string     `json:"reason,omitempty" enum:"signup,purchase"`
		Expires *time.Time `json:"expires,omitempty"`
	}
	got, err := openapi.Document(openapi.Info{Title: "Small", Version: "1.0.0", Description: "A <small> API & more."},
		[]openapi.Operation{
			{Method: "GET", Path: "/healthz", Summary: "Health", Tags: []string{"Operations"}, Public: true},
			{Method: "POST", Path: "/customers/{customerId}/rewards", Summary: "Grant a reward", Tags: []string{"Rewards"},
				Secret: true, Request: Reward{}, Response: Reward{}, Status: 201, Errors: []int{404, 422}},
		})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "small.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("document differs from %s (run go test -update if intended):\n%s", golden, got)
	}
	if !json.Valid(got) {
		t.Error("not valid JSON")
	}
}
