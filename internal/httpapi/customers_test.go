package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// TestCustomerDetailsTags holds the detailed view to one "tags" key in customerAttributes, holding
// the customer's tags, although the embedded attributes have a tags field of their own.
func TestCustomerDetailsTags(t *testing.T) {
	cases := []struct {
		name     string
		customer loyalty.Customer
		want     string
	}{
		{"tags", loyalty.Customer{CustomerID: "c1", Attributes: loyalty.CustomerAttributes{City: "Cairo"},
			Tags: []string{"vip", "news letter"}}, `["vip","news letter"]`},
		{"no tags", loyalty.Customer{CustomerID: "c2", Tags: []string{}}, `[]`},
		{"attribute tags ignored", loyalty.Customer{CustomerID: "c3",
			Attributes: loyalty.CustomerAttributes{Tags: []string{"stale"}}, Tags: []string{"vip"}}, `["vip"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, err := json.Marshal(customerDetails(c.customer))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(body, []byte(`"tags":`)); n != 1 {
				t.Fatalf("%d tags keys in %s", n, body)
			}
			var view struct {
				CustomerAttributes map[string]json.RawMessage `json:"customerAttributes"`
			}
			if err := json.Unmarshal(body, &view); err != nil {
				t.Fatal(err)
			}
			if got := string(view.CustomerAttributes["tags"]); got != c.want {
				t.Fatalf("customerAttributes.tags %s, want %s in %s", got, c.want, body)
			}
			if c.customer.Attributes.City != "" && string(view.CustomerAttributes["city"]) != `"Cairo"` {
				t.Fatalf("the embedded attributes are missing: %s", body)
			}
		})
	}
}
