// Package client is the Go client of Tally's HTTP API. The tally command, the benchmarks and the
// end-to-end tests use it; so can any Go program that talks to a Tally server.
//
//	c := client.New("http://127.0.0.1:8080", apiKey, secretKey)
//	res, err := c.UpsertCustomer(ctx, client.CustomerRequest{CustomerID: "cust-1"})
//
// A failed call returns an *Error with the server's code and message.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// BasePath is the API's base path on the server.
const BasePath = "/api/v4.0/integrations"

// Client calls one Tally server as one tenant.
type Client struct {
	baseURL   string
	apiKey    string
	secretKey string
	http      *http.Client
}

// New returns a client of the server at baseURL (for example "http://127.0.0.1:8080") that
// authenticates with the tenant's keys. The secret key may be empty for calls that need only the
// API key.
func New(baseURL, apiKey, secretKey string) *Client {
	return &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		apiKey:    apiKey,
		secretKey: secretKey,
		http:      &http.Client{Timeout: 2 * time.Minute},
	}
}

// WithHTTPClient returns a copy of c that sends requests through h.
func (c *Client) WithHTTPClient(h *http.Client) *Client {
	cp := *c
	cp.http = h
	return &cp
}

// FieldError names one offending field of a rejected request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a non-2xx answer from the server.
type Error struct {
	StatusCode int          `json:"-"`
	Code       int          `json:"code"`
	Type       string       `json:"type"`
	Message    string       `json:"message"`
	RequestID  string       `json:"requestId"`
	Errors     []FieldError `json:"errors,omitempty"`
	// RetryAfter is the server's Retry-After, when it asked the client to slow down.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("tally: HTTP %d, code %d: %s (request %s)", e.StatusCode, e.Code, e.Message, e.RequestID)
}

// Request is a raw call: the escape hatch for endpoints without a typed method, and for tests that
// need to send what a typed method would not.
type Request struct {
	Method string
	// Path is relative to BasePath unless it starts with "/api/" or is one of the server's own
	// paths such as "/healthz".
	Path   string
	Query  url.Values
	Body   []byte
	Header http.Header
}

// Do sends in as JSON (when not nil) to the API path and decodes the answer into out (when not nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	req := Request{Method: method, Path: path}
	if in != nil {
		body, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("tally: encode request: %w", err)
		}
		req.Body = body
	}
	return c.Send(ctx, req, out)
}

// call sends in to the API path and returns the decoded answer: the body of every typed method.
func call[T any](ctx context.Context, c *Client, method, path string, in any) (T, error) {
	var res T
	err := c.Do(ctx, method, path, in, &res)
	return res, err
}

// get reads the API path with the query and returns the decoded answer: the body of every typed
// method that reads a page or a filtered list.
func get[T any](ctx context.Context, c *Client, path string, query url.Values) (T, error) {
	var res T
	err := c.Send(ctx, Request{Method: http.MethodGet, Path: path, Query: query}, &res)
	return res, err
}

// Send makes a raw call and decodes a 2xx answer into out (when not nil).
func (c *Client) Send(ctx context.Context, r Request, out any) error {
	resp, body, err := c.roundTrip(ctx, r)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{StatusCode: resp.StatusCode}
		if err := json.Unmarshal(body, e); err != nil {
			e.Message = strings.TrimSpace(string(body))
		}
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if secs, err := time.ParseDuration(ra + "s"); err == nil {
				e.RetryAfter = secs
			}
		}
		return e
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = body
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("tally: decode %s %s answer: %w", r.Method, r.Path, err)
	}
	return nil
}

func (c *Client) roundTrip(ctx context.Context, r Request) (*http.Response, []byte, error) {
	path := r.Path
	if !strings.HasPrefix(path, "/api/") && !isServerPath(path) {
		path = BasePath + path
	}
	u := c.baseURL + path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, body)
	if err != nil {
		return nil, nil, fmt.Errorf("tally: build request: %w", err)
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("apikey", c.apiKey)
	}
	if c.secretKey != "" {
		req.Header.Set("secretkey", c.secretKey)
	}
	for k, vs := range r.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("tally: %s %s: %w", r.Method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("tally: read %s %s answer: %w", r.Method, path, err)
	}
	return resp, data, nil
}

func isServerPath(p string) bool {
	for _, s := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"} {
		if p == s || strings.HasPrefix(p, s+"/") || strings.HasPrefix(p, s+"?") {
			return true
		}
	}
	return false
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }

// pageQuery builds the query of a list call, leaving out empty values.
func pageQuery(filters map[string]string, limit int, startAfter string) url.Values {
	q := url.Values{}
	for k, v := range filters {
		if v != "" {
			q.Set(k, v)
		}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if startAfter != "" {
		q.Set("startAfter", startAfter)
	}
	return q
}
