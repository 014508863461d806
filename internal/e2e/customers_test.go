package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

func TestCustomers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		a := env.NewTenant(t, "a")
		b := env.NewTenant(t, "b")

		total := json.Number("120.50")
		orders := int64(3)
		res, err := a.PublicKey.UpsertCustomer(ctx, client.CustomerRequest{CustomerID: "cust-1", Email: "ada@example.com",
			CustomerAttributes: &client.CustomerAttributes{DisplayName: "Ada", Country: "EG", TotalSpent: &total,
				TotalOrders: &orders, Custom: map[string]json.RawMessage{"tier": json.RawMessage(`"gold"`)}}})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || res.GameballID == 0 || res.CustomerID != "cust-1" {
			t.Fatalf("create: %+v", res)
		}

		t.Run("update merges", func(t *testing.T) {
			res2, err := a.PublicKey.UpsertCustomer(ctx, client.CustomerRequest{CustomerID: "cust-1",
				CustomerAttributes: &client.CustomerAttributes{City: "Cairo", Custom: map[string]json.RawMessage{"pets": json.RawMessage(`2`)}}})
			if err != nil {
				t.Fatal(err)
			}
			if res2.Created || res2.GameballID != res.GameballID {
				t.Fatalf("update: %+v", res2)
			}
			c, err := a.Client.CustomerDetails(ctx, "cust-1")
			if err != nil {
				t.Fatal(err)
			}
			at := c.CustomerAttributes
			if c.Email != "ada@example.com" || at.DisplayName != "Ada" || at.City != "Cairo" || at.Country != "EG" ||
				string(at.Custom["tier"]) != `"gold"` || string(at.Custom["pets"]) != `2` || at.TotalSpent.String() != "120.50" {
				t.Fatalf("details after update: %+v", c)
			}
		})

		t.Run("public read hides personal data", func(t *testing.T) {
			var body map[string]any
			if err := a.PublicKey.Do(ctx, http.MethodGet, "/customers/cust-1", nil, &body); err != nil {
				t.Fatal(err)
			}
			text, _ := json.Marshal(body)
			for _, pii := range []string{"ada@example.com", "Ada", "displayName", "email"} {
				if strings.Contains(string(text), pii) {
					t.Errorf("public view shows %q: %s", pii, text)
				}
			}
			if !strings.Contains(string(text), `"country":"EG"`) {
				t.Errorf("public view lacks country: %s", text)
			}
		})

		t.Run("details need the secret key", func(t *testing.T) {
			_, err := a.PublicKey.CustomerDetails(ctx, "cust-1")
			wantError(t, err, http.StatusUnauthorized, 1001)
		})

		t.Run("tags", func(t *testing.T) {
			tags, err := a.Client.AddTags(ctx, "cust-1", "vip, newsletter ,vip")
			if err != nil || !slices.Equal(tags, []string{"vip", "newsletter"}) {
				t.Fatalf("add: %v %v", tags, err)
			}
			tags, err = a.Client.RemoveTags(ctx, "cust-1", "vip")
			if err != nil || !slices.Equal(tags, []string{"newsletter"}) {
				t.Fatalf("remove: %v %v", tags, err)
			}
			c, err := a.PublicKey.GetCustomer(ctx, "cust-1")
			if err != nil || !slices.Equal(c.CustomerAttributes.Tags, []string{"newsletter"}) {
				t.Fatalf("tags after change: %+v %v", c.CustomerAttributes.Tags, err)
			}
			_, err = a.Client.AddTags(ctx, "cust-1", " , ")
			wantError(t, err, http.StatusBadRequest, 3000)
			_, err = a.Client.AddTags(ctx, "nobody", "x")
			wantError(t, err, http.StatusNotFound, 7000)
		})

		t.Run("tags in the profile", func(t *testing.T) {
			upsert := func(attrs *client.CustomerAttributes) {
				t.Helper()
				if _, err := a.PublicKey.UpsertCustomer(ctx, client.CustomerRequest{CustomerID: "cust-tags", CustomerAttributes: attrs}); err != nil {
					t.Fatal(err)
				}
			}
			wantTags := func(want ...string) client.Customer {
				t.Helper()
				c, err := a.Client.CustomerDetails(ctx, "cust-tags")
				if err != nil || !slices.Equal(c.CustomerAttributes.Tags, want) {
					t.Fatalf("tags %q (%v), want %q", c.CustomerAttributes.Tags, err, want)
				}
				return c
			}
			upsert(&client.CustomerAttributes{City: "Cairo", Tags: []string{"vip", " early ", "vip"}})
			wantTags("vip", "early")
			var attrs string
			err := env.App.DB.Read(ctx, func(tx *store.Tx) error {
				return tx.QueryRow(ctx, `SELECT attributes FROM customers WHERE tenant_id = ? AND customer_id = ?`, a.ID, "cust-tags").Scan(&attrs)
			})
			if err != nil || strings.Contains(attrs, "tags") {
				t.Fatalf("stored attributes %s (%v), want no tags among them", attrs, err)
			}

			upsert(&client.CustomerAttributes{Country: "EG"}) // no tags: they stay
			if c := wantTags("vip", "early"); c.CustomerAttributes.City != "Cairo" || c.CustomerAttributes.Country != "EG" {
				t.Fatalf("attributes %+v", c.CustomerAttributes)
			}
			upsert(&client.CustomerAttributes{Tags: []string{}}) // []: none left
			wantTags()

			upsert(&client.CustomerAttributes{Tags: []string{"vip"}})
			tooLong := strings.Repeat("t", 65)
			for _, id := range []string{"cust-tags", "cust-untagged"} {
				body := fmt.Sprintf(`{"customerId":%q,"customerAttributes":{"city":"Giza","tags":[%q,"ok"]}}`, id, tooLong)
				e := wantError(t, raw(a.PublicKey, http.MethodPost, "/customers", body), http.StatusUnprocessableEntity, 3003)
				if len(e.Errors) == 0 || e.Errors[0].Field != "customerAttributes.tags[0]" {
					t.Fatalf("errors %+v, want field customerAttributes.tags[0]", e.Errors)
				}
			}
			if c := wantTags("vip"); c.CustomerAttributes.City != "Cairo" {
				t.Fatalf("the refused upsert changed the city to %q", c.CustomerAttributes.City)
			}
			_, err = a.Client.GetCustomer(ctx, "cust-untagged")
			wantError(t, err, http.StatusNotFound, 7000)
		})

		t.Run("tenant isolation", func(t *testing.T) {
			_, err := b.Client.GetCustomer(ctx, "cust-1")
			wantError(t, err, http.StatusNotFound, 7000)
			_, err = b.Client.CustomerDetails(ctx, "cust-1")
			wantError(t, err, http.StatusNotFound, 7000)
			_, err = b.Client.AddTags(ctx, "cust-1", "x")
			wantError(t, err, http.StatusNotFound, 7000)
			err = b.Client.DeleteCustomer(ctx, "cust-1")
			wantError(t, err, http.StatusNotFound, 7000)
			// B's own customer with the same id is a different customer.
			rb, err := b.Client.UpsertCustomer(ctx, client.CustomerRequest{CustomerID: "cust-1"})
			if err != nil || !rb.Created || rb.GameballID == res.GameballID {
				t.Fatalf("B's cust-1: %+v %v", rb, err)
			}
			if c, err := a.Client.CustomerDetails(ctx, "cust-1"); err != nil || c.Email != "ada@example.com" {
				t.Fatalf("A's customer changed: %+v %v", c, err)
			}
		})

		t.Run("delete", func(t *testing.T) {
			err := a.PublicKey.DeleteCustomer(ctx, "cust-1")
			wantError(t, err, http.StatusUnauthorized, 1001)
			if err := a.Client.DeleteCustomer(ctx, "cust-1"); err != nil {
				t.Fatal(err)
			}
			_, err = a.Client.GetCustomer(ctx, "cust-1")
			wantError(t, err, http.StatusNotFound, 7000)
			wantError(t, a.Client.DeleteCustomer(ctx, "cust-1"), http.StatusNotFound, 7000)
		})
	})
}

func TestCustomerValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d, apptest.Options{MaxBodyBytes: 64 << 10})
		a := env.NewTenant(t, "a")
		long := strings.Repeat("x", 129)
		cases := []struct {
			name, body   string
			status, code int
			field        string
		}{
			{"not JSON", `{"customerId":`, 400, 3016, ""},
			{"empty body", ``, 400, 3016, ""},
			{"null body", `null`, 400, 3000, ""},
			{"missing customerId", `{"email":"a@b.c"}`, 400, 3000, "customerId"},
			{"customerId wrong type", `{"customerId":42}`, 422, 3003, "customerId"},
			{"nested wrong type", `{"customerId":"x","customerAttributes":{"totalOrders":"many"}}`, 422, 3003, "customerAttributes.totalOrders"},
			{"negative count", `{"customerId":"x","customerAttributes":{"totalOrders":-1}}`, 422, 3003, "customerAttributes.totalOrders"},
			{"over-long customerId", fmt.Sprintf(`{"customerId":%q}`, long), 422, 3003, "customerId"},
			{"over-long attribute", fmt.Sprintf(`{"customerId":"x","customerAttributes":{"city":%q}}`, strings.Repeat("y", 257)), 422, 3003, "customerAttributes.city"},
			{"bad channel", `{"customerId":"x","customerAttributes":{"channel":"fax"}}`, 422, 3003, "customerAttributes.channel"},
			{"control character", `{"customerId":"a\u0000b"}`, 422, 3003, "customerId"},
			{"too deep", `{"customerId":"x","customerAttributes":{"custom":{"a":` + strings.Repeat("[", 30) + strings.Repeat("]", 30) + `}}}`, 422, 3003, ""},
			{"oversize body", `{"customerId":"x","email":"` + strings.Repeat("z", 70<<10) + `"}`, 413, 3011, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := wantError(t, raw(a.PublicKey, http.MethodPost, "/customers", c.body), c.status, c.code)
				if c.field != "" && (len(e.Errors) == 0 || e.Errors[0].Field != c.field) {
					t.Fatalf("errors %+v, want field %q", e.Errors, c.field)
				}
			})
		}
		// Nothing above was stored.
		for _, id := range []string{"x", long} {
			_, err := a.Client.GetCustomer(ctx, id)
			if id == long {
				wantError(t, err, http.StatusUnprocessableEntity, 3003)
				continue
			}
			wantError(t, err, http.StatusNotFound, 7000)
		}
		// Unknown fields are ignored, as documented.
		if err := raw(a.PublicKey, http.MethodPost, "/customers", `{"customerId":"y","futureField":{"a":1}}`); err != nil {
			t.Fatalf("unknown field: %v", err)
		}
	})
}
