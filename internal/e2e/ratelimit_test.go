package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/httpapi"
	"github.com/tally-loyalty/tally/internal/store"
)

func TestRateLimits(t *testing.T) {
	env := apptest.Start(t, store.SQLite, apptest.Options{RateLimits: httpapi.RateLimits{
		Write: 2, AuthFailures: 2, AuthWindow: time.Minute}})
	a := env.NewTenant(t, "a")
	b := env.NewTenant(t, "b")
	customers := env.URL + httpapi.BasePath + "/customers"
	upsert := func(tn apptest.Tenant) (*http.Response, string) {
		return send(t, "POST", customers, tn.Keys.APIKey, "", `{"customerId":"c"}`)
	}

	for i := range 2 {
		resp, body := upsert(a)
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("write %d: %d %s, headers %v", i, resp.StatusCode, body, resp.Header)
		}
	}
	resp, body := upsert(a)
	h := resp.Header
	if resp.StatusCode != 429 || !strings.Contains(body, `"code":4029`) || h.Get("Retry-After") != "1" ||
		h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset") != "1" {
		t.Fatalf("third write in a second: %d %s, headers %v", resp.StatusCode, body, h)
	}
	// The aliases share the pool.
	if resp, _ := send(t, "POST", env.URL+"/api/v4/integrations/customers", a.Keys.APIKey, "", `{"customerId":"c"}`); resp.StatusCode != 429 {
		t.Fatalf("write through the v4 alias: %d", resp.StatusCode)
	}
	if resp, body := upsert(b); resp.StatusCode != 200 {
		t.Fatalf("another tenant's write: %d %s", resp.StatusCode, body)
	}
	if resp, body := send(t, "GET", customers+"/c", a.Keys.APIKey, "", ""); resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Fatalf("an unlimited read: %d %s, headers %v", resp.StatusCode, body, resp.Header)
	}
	env.Clock.Advance(time.Second)
	if resp, body := upsert(a); resp.StatusCode != 200 {
		t.Fatalf("write a second later: %d %s", resp.StatusCode, body)
	}

	t.Run("failed authentication slows the source down", func(t *testing.T) {
		for _, key := range []string{"tly_pk_wrong", "tly_pk_wrong_again"} {
			if resp, _ := send(t, "GET", customers+"/c", key, "", ""); resp.StatusCode != 401 {
				t.Fatalf("unknown key: %d", resp.StatusCode)
			}
		}
		resp, body := send(t, "GET", customers+"/c", a.Keys.APIKey, "", "")
		if resp.StatusCode != 429 || !strings.Contains(body, `"code":4029`) || resp.Header.Get("Retry-After") != "30" {
			t.Fatalf("after two failures, even a valid key must wait: %d %s, headers %v", resp.StatusCode, body, resp.Header)
		}
		env.Clock.Advance(30 * time.Second)
		if resp, body := send(t, "GET", customers+"/c", a.Keys.APIKey, "", ""); resp.StatusCode != 200 {
			t.Fatalf("after the wait: %d %s", resp.StatusCode, body)
		}
		if resp, body := send(t, "GET", env.URL+"/healthz", "", "", ""); resp.StatusCode != 200 {
			t.Fatalf("public routes are never slowed down: %d %s", resp.StatusCode, body)
		}
	})
}
