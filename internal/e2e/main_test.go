// Package e2e holds the end-to-end tests: each starts the real server on a loopback port, on SQLite
// and on PostgreSQL, and drives it through the public client.
package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// wantError asserts that err is an API error with the status and code.
func wantError(t *testing.T, err error, status, code int) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an API error %d/%d", err, status, code)
	}
	if e.StatusCode != status || e.Code != code {
		t.Fatalf("got HTTP %d code %d (%s), want HTTP %d code %d", e.StatusCode, e.Code, e.Message, status, code)
	}
	if e.RequestID == "" || e.Type == "" || e.Message == "" {
		t.Fatalf("error body lacks requestId, type or message: %+v", e)
	}
	return e
}

// raw sends a raw request and returns the error of a non-2xx answer.
func raw(c *client.Client, method, path, body string) error {
	r := client.Request{Method: method, Path: path}
	if body != "" {
		r.Body = []byte(body)
	}
	return c.Send(ctx, r, nil)
}

var _ = http.MethodGet
