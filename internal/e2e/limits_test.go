package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/httpapi"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// TestLimits checks each documented limit at its edge: the largest accepted value passes, one more
// is refused with the documented status, code and field.
func TestLimits(t *testing.T) {
	const maxBody = 64 << 10
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d, apptest.Options{MaxBodyBytes: maxBody})
		tn := env.NewTenant(t, "t")
		ops := apiOperations(t, env)
		own := createObjects(t, tn, ops)

		customer := func(attrs string) string { return `{"customerId":"c","customerAttributes":{` + attrs + `}}` }
		custom := func(n, size int) string {
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf(`"k%d":"%s"`, i, strings.Repeat("v", size))
			}
			return customer(`"custom":{` + strings.Join(keys, ",") + `}`)
		}
		nested := func(depth int) string { // the customer object, its attributes and custom are 3 levels
			return customer(`"custom":{"k":` + strings.Repeat("[", depth-3) + strings.Repeat("]", depth-3) + `}`)
		}
		tags := func(n int) string {
			list := make([]string, n)
			for i := range list {
				list[i] = fmt.Sprint("t", i)
			}
			return `{"tags":"` + strings.Join(list, ", ") + `"}`
		}
		items := func(n int) string {
			return `{"body":[` + strings.TrimSuffix(strings.Repeat(`{"customerId":"c"},`, n), ",") + `]}`
		}
		cases := []struct {
			name, route, body string
			status, code      int // status 200: accepted
			field             string
		}{
			{"body at the byte limit", "POST /customers", `{"customerId":"c","x":"` + strings.Repeat("x", maxBody-len(`{"customerId":"c","x":""}`)) + `"}`, 200, 0, ""},
			{"body over the byte limit", "POST /customers", `{"customerId":"c","x":"` + strings.Repeat("x", maxBody) + `"}`, 413, 3011, ""},
			{"id at its limit", "POST /customers", `{"customerId":"` + strings.Repeat("é", loyalty.MaxIDLength) + `"}`, 200, 0, ""},
			{"id too long", "POST /customers", `{"customerId":"` + strings.Repeat("é", loyalty.MaxIDLength+1) + `"}`, 422, 3003, "customerId"},
			{"text too long", "POST /customers", customer(`"displayName":"` + strings.Repeat("x", loyalty.MaxShortString+1) + `"`), 422, 3003, "customerAttributes.displayName"},
			{"custom keys at the limit", "POST /customers", custom(loyalty.MaxCustomKeys, 1), 200, 0, ""},
			{"too many custom keys", "POST /customers", custom(loyalty.MaxCustomKeys+1, 1), 422, 3003, "customerAttributes.custom"},
			{"custom too large", "POST /customers", custom(2, loyalty.MaxCustomBytes/2), 422, 3003, "customerAttributes.custom"},
			{"nesting at the limit", "POST /customers", nested(loyalty.MaxJSONDepth), 200, 0, ""},
			{"nesting too deep", "POST /customers", nested(loyalty.MaxJSONDepth + 1), 422, 3003, ""},
			{"integer out of range", "POST /customers", customer(`"totalOrders":9223372036854775808`), 422, 3003, "customerAttributes.totalOrders"},
			{"unknown fields ignored", "POST /customers", `{"customerId":"c","favouriteColour":"red","customerAttributes":{"shoeSize":{"eu":42}}}`, 200, 0, ""},
			{"a customer's tags at the limit", "POST /customers/{customerId}/tags", tags(loyalty.MaxTags - 1), 200, 0, ""}, // it has one
			{"a customer's tags over the limit", "POST /customers/{customerId}/tags", `{"tags":"one-more"}`, 422, 3011, "tags"},
			{"tag too long", "POST /customers/{customerId}/tags", `{"tags":"` + strings.Repeat("t", loyalty.MaxTagLength+1) + `"}`, 422, 3003, "tags"},
			{"too many tags", "POST /customers/{customerId}/tags", tags(loyalty.MaxTags + 1), 422, 3003, "tags"},
			{"event name too long", "POST /events", `{"customerId":"c","events":{"` + strings.Repeat("e", loyalty.MaxNameLength+1) + `":{}}}`, 422, 3003, "events." + strings.Repeat("e", loyalty.MaxNameLength+1)},
			{"points at the limit", "POST /transactions/manual", fmt.Sprintf(`{"customerId":"c","points":%d}`, loyalty.MaxPoints), 200, 0, ""},
			{"points over the limit", "POST /transactions/manual", fmt.Sprintf(`{"customerId":"c","points":%d}`, loyalty.MaxPoints+1), 422, 3003, "points"},
			{"points overflow int64", "POST /transactions/manual", `{"customerId":"c","points":9223372036854775808}`, 422, 3003, "points"},
			{"money overflows int64", "POST /transactions/cashback", `{"customerId":"c","transactionId":"t1","transactionTime":"2026-01-01T08:00:00Z","amount":92233720368547758.08}`, 422, 3003, "amount"},
			{"money worth too many points", "POST /transactions/manual", `{"customerId":"c","amount":10000000000000}`, 422, 3003, "amount"},
			{"money with too many decimals", "POST /orders", `{"customerId":"c","orderId":"o1","orderDate":"2026-01-01T08:00:00Z","totalPaid":1.001}`, 422, 3003, "totalPaid"},
			{"reason too long", "POST /transactions/manual", `{"customerId":"c","points":1,"reason":"` + strings.Repeat("r", loyalty.MaxReasonLength+1) + `"}`, 422, 3003, "reason"},
			{"batch at the item limit", "POST /batch/customers", items(1000), 200, 0, ""},
			{"batch over the item limit", "POST /batch/customers", items(1001), 422, 3011, "body"},
			{"batch envelope with unknown fields", "POST /batch/customers", `{"body":[{"customerId":"c"}],"note":"x"}`, 200, 0, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				method, route, _ := strings.Cut(c.route, " ")
				o := operation{Method: method, Path: route}
				if !hasOperation(ops, c.route) {
					t.Skipf("the server has no %s yet", c.route)
				}
				path, _ := o.fill(own.ids)
				resp, body := send(t, method, env.URL+path, tn.Keys.APIKey, tn.Keys.SecretKey, c.body)
				if c.status == 200 {
					if resp.StatusCode != 200 {
						t.Fatalf("got %d %.300s, want 200", resp.StatusCode, body)
					}
					return
				}
				wantError(t, raw(tn.Client, method, path, c.body), c.status, c.code)
				if c.field != "" && !strings.Contains(body, `"field":"`+c.field+`"`) {
					t.Fatalf("the error does not name the field %s: %.300s", c.field, body)
				}
			})
		}

		t.Run("page sizes", func(t *testing.T) {
			listed := 0
			for _, o := range ops {
				if o.Method != "GET" || !slices.Contains(o.Query, "limit") {
					continue
				}
				listed++
				path, ok := o.fill(own.ids)
				if !ok {
					t.Fatalf("%v: no ids for its path", o)
				}
				for _, limit := range []string{"0", "-1", "abc", fmt.Sprint(httpapi.MaxPageSize + 1)} {
					if resp, body := send(t, "GET", env.URL+path+"?limit="+limit, tn.Keys.APIKey, tn.Keys.SecretKey, ""); resp.StatusCode != 422 || !strings.Contains(body, `"field":"limit"`) {
						t.Errorf("%v?limit=%s: %d %.200s, want 422 naming limit", o, limit, resp.StatusCode, body)
					}
				}
				if resp, body := send(t, "GET", env.URL+path+fmt.Sprintf("?limit=%d", httpapi.MaxPageSize), tn.Keys.APIKey, tn.Keys.SecretKey, ""); resp.StatusCode != 200 {
					t.Errorf("%v?limit=%d: %d %.200s, want 200", o, httpapi.MaxPageSize, resp.StatusCode, body)
				}
			}
			if listed == 0 {
				t.Fatal("no operation takes a limit: the OpenAPI document lost its query parameters")
			}
		})
	})
}
