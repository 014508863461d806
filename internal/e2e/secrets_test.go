package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/httpapi"
	"github.com/tally-loyalty/tally/internal/keys"
	"github.com/tally-loyalty/tally/internal/store"
)

// TestSecretsNeverLeakFullRun calls every authenticated operation with right, wrong, rotated and
// another tenant's keys, through every base path, until the failed-authentication limit answers
// 429, and then looks for each key in the server's logs, in every answer and in the database:
// none may appear anywhere, and the database must hold the keys' hashes.
func TestSecretsNeverLeakFullRun(t *testing.T) {
	env := apptest.Start(t, store.SQLite, apptest.Options{RateLimits: httpapi.RateLimits{
		Read: 1000, Write: 1000, Events: 1000, Batch: 1000, AuthFailures: 50, AuthWindow: time.Minute}})
	a := env.NewTenant(t, "a")
	b := env.NewTenant(t, "b")
	ops := apiOperations(t, env)
	own := createObjects(t, a, ops)
	oldSecret := a.Keys.SecretKey
	var newSecret string
	err := env.App.DB.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		newSecret, err = tx.RotateSecret(context.Background(), "a")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wrongAPIKey, err := keys.New(keys.APIKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret, err := keys.New(keys.SecretKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{a.Keys.APIKey, oldSecret, newSecret, b.Keys.APIKey, b.Keys.SecretKey, wrongAPIKey, wrongSecret}
	credentials := [][2]string{
		{a.Keys.APIKey, newSecret}, {a.Keys.APIKey, ""}, {a.Keys.APIKey, oldSecret}, {a.Keys.APIKey, b.Keys.SecretKey},
		{a.Keys.APIKey, wrongSecret}, {wrongAPIKey, ""}, {wrongAPIKey, newSecret}, {b.Keys.APIKey, b.Keys.SecretKey},
	}
	bases := []string{httpapi.BasePath, "/api/v4/integrations", "/api/v4.1/integrations"}

	var answers strings.Builder
	requests, limited := 0, 0
	record := func(resp *http.Response, body string) {
		requests++
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
		answers.WriteString(body)
		for name, values := range resp.Header {
			answers.WriteString(name + ": " + strings.Join(values, ",") + "\n")
		}
	}
	for _, o := range ops {
		env.Clock.Advance(time.Minute) // refills the failed-authentication allowance: every call reaches its handler
		path, ok := o.fill(own.ids)
		if !ok {
			t.Fatalf("%v: no ids for its path", o)
		}
		body := ""
		if o.Body {
			body = fillBody(requestBodies[o.String()], own.ids)
		}
		for i, cred := range credentials {
			base := bases[i%len(bases)]
			record(send(t, o.Method, env.URL+base+strings.TrimPrefix(path, httpapi.BasePath), cred[0], cred[1], body))
		}
		// A client that puts its key in the query string has it in the URL, which the log must not show.
		record(send(t, o.Method, env.URL+path+"?apikey="+a.Keys.APIKey+"&secretkey="+newSecret, "", "", body))
	}
	for limited == 0 && requests < 1000 {
		record(send(t, "GET", env.URL+httpapi.BasePath+"/customers/x", wrongAPIKey, wrongSecret, ""))
	}
	if limited == 0 {
		t.Fatal("the failed-authentication limit never answered 429")
	}

	logs := env.Logs.String()
	dump := dumpState(t, env.App.DB)
	if n := strings.Count(logs, `"msg":"request"`); n < requests {
		t.Fatalf("the logs show %d of %d requests, so the scan below proves little", n, requests)
	}
	for _, secret := range secrets {
		for where, text := range map[string]string{"logs": logs, "answers": answers.String(), "database": dump} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s hold the key %.12s...", where, secret)
			}
		}
	}
	for _, stored := range []string{a.Keys.APIKey, newSecret, b.Keys.APIKey, b.Keys.SecretKey} {
		if !strings.Contains(dump, keys.Hash(stored)) {
			t.Errorf("the database lacks the hash of the key %.12s...", stored)
		}
	}
}
