package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

func TestAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		a := env.NewTenant(t, "a")
		b := env.NewTenant(t, "b")
		cases := []struct {
			name         string
			c            *client.Client
			method, p    string
			status, code int
		}{
			{"no keys", client.New(env.URL, "", ""), "GET", "/customers/x", 401, 1000},
			{"unknown api key", client.New(env.URL, "tly_pk_nope", ""), "GET", "/customers/x", 401, 1000},
			{"wrong secret key", client.New(env.URL, a.Keys.APIKey, "tly_sk_wrong"), "GET", "/customers/x", 401, 1000},
			{"another tenant's secret", client.New(env.URL, a.Keys.APIKey, b.Keys.SecretKey), "GET", "/customers/x/details", 401, 1000},
			{"secret key missing", a.PublicKey, "GET", "/customers/x/details", 401, 1001},
			{"v4.1 always needs the secret", a.PublicKey, "GET", "/api/v4.1/integrations/customers/x", 401, 1001},
			{"v4 alias works", a.PublicKey, "GET", "/api/v4/integrations/customers/x", 404, 7000},
			{"v4.1 with secret works", a.Client, "GET", "/api/v4.1/integrations/customers/x", 404, 7000},
			{"unknown route", a.Client, "GET", "/nothing-here", 404, 4004},
			{"wrong method", a.Client, "PATCH", "/customers", 405, 4005},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantError(t, raw(c.c, c.method, c.p, ""), c.status, c.code)
			})
		}
	})
}

func TestOperationsEndpoints(t *testing.T) {
	env := apptest.Start(t, store.SQLite)
	c := client.New(env.URL, "", "")
	for _, p := range []string{"/healthz", "/readyz"} {
		if err := c.Send(ctx, client.Request{Method: "GET", Path: p}, nil); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	var metrics []byte
	if err := c.Send(ctx, client.Request{Method: "GET", Path: "/metrics"}, &metrics); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(metrics), `tally_http_requests_total{method="GET",route="GET /healthz",status="200"} 1`) {
		t.Fatalf("metrics lack the healthz request:\n%.2000s", metrics)
	}
	var spec map[string]any
	if err := c.Send(ctx, client.Request{Method: "GET", Path: "/openapi.json"}, &spec); err != nil {
		t.Fatal(err)
	}
	paths, _ := spec["paths"].(map[string]any)
	if spec["openapi"] != "3.1.0" || paths["/api/v4.0/integrations/customers/{customerId}"] == nil {
		t.Fatalf("spec: openapi %v, %d paths", spec["openapi"], len(paths))
	}
	var page []byte
	if err := c.Send(ctx, client.Request{Method: "GET", Path: "/docs"}, &page); err != nil || !strings.Contains(string(page), "/openapi.json") {
		t.Fatalf("docs page: %v", err)
	}
	_ = http.StatusOK
}

func TestSecretsNeverLeak(t *testing.T) {
	env := apptest.Start(t, store.SQLite)
	a := env.NewTenant(t, "a")
	if _, err := a.Client.UpsertCustomer(ctx, client.CustomerRequest{CustomerID: "c"}); err != nil {
		t.Fatal(err)
	}
	_ = raw(client.New(env.URL, a.Keys.APIKey, "tly_sk_wrong"), "GET", "/customers/c", "")
	var body []byte
	if err := a.Client.Send(ctx, client.Request{Method: "GET", Path: "/customers/c/details"}, &body); err != nil {
		t.Fatal(err)
	}
	dump := dumpDatabase(t, env.App.DB)
	for _, secret := range []string{a.Keys.APIKey, a.Keys.SecretKey, "tly_sk_wrong"} {
		for where, text := range map[string]string{"logs": env.Logs.String(), "response": string(body), "database": dump} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s hold the key %q", where, secret)
			}
		}
	}
	if !strings.Contains(env.Logs.String(), `"path":"/api/v4.0/integrations/customers/c/details"`) {
		t.Fatal("the logs do not show the requests, so the scan above proves nothing")
	}
}
