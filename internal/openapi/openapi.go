// Package openapi builds the OpenAPI 3.1 document of the HTTP API from the route table and the Go
// types of the request and response bodies, so that the document cannot drift from the code.
package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Operation describes one route for the document.
type Operation struct {
	Method      string   // "GET", "POST", ...
	Path        string   // ServeMux-style path with {params}, e.g. "/api/v4.0/integrations/customers/{customerId}"
	Summary     string   // one line
	Description string   // longer text, Markdown
	Tags        []string // groups the operation in the docs
	Secret      bool     // true when the secretkey header is required (apikey is always required unless Public)
	Public      bool     // no auth at all (health, metrics, docs)
	Query       []Param  // query parameters
	Request     any      // nil or a zero value of the request body type (struct, slice, map...)
	Response    any      // nil or a zero value of the 2xx response body type
	Status      int      // success status, default 200
	Errors      []int    // HTTP statuses of documented errors (each gets the shared Error schema)
}

// Param is a query parameter of an Operation. Type is "string" (the default when empty), "integer",
// "number" or "boolean".
type Param struct {
	Name, Description, Type string
	Required                bool
}

// Info is the document-level metadata. Servers are base URLs; without any, the document lists "/",
// so that clients resolve paths against the host the document was fetched from.
type Info struct {
	Title, Version, Description string
	Servers                     []string
}

// Header names of the two credentials, which are also the names of their security schemes.
const (
	APIKeyHeader    = "apikey"
	SecretKeyHeader = "secretkey"
)

// errorSchemaName is the component name of the shared error body; a Go type of the same name is
// given a package-qualified name instead.
const errorSchemaName = "Error"

// The document's JSON shape. Structs keep the conventional key order of OpenAPI documents; maps
// (paths, responses, components) are written with sorted keys by encoding/json, which is what
// makes the output deterministic.
type (
	document struct {
		OpenAPI    string                          `json:"openapi"`
		Info       info                            `json:"info"`
		Servers    []server                        `json:"servers"`
		Tags       []tag                           `json:"tags,omitempty"`
		Paths      map[string]map[string]operation `json:"paths"`
		Components components                      `json:"components"`
	}
	info struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
	}
	server struct {
		URL string `json:"url"`
	}
	tag struct {
		Name string `json:"name"`
	}
	operation struct {
		OperationID string                `json:"operationId"`
		Summary     string                `json:"summary,omitempty"`
		Description string                `json:"description,omitempty"`
		Tags        []string              `json:"tags,omitempty"`
		Parameters  []parameter           `json:"parameters,omitempty"`
		RequestBody *requestBody          `json:"requestBody,omitempty"`
		Responses   map[string]response   `json:"responses"`
		Security    []map[string][]string `json:"security"` // [] on public operations says so explicitly
	}
	parameter struct {
		Name        string  `json:"name"`
		In          string  `json:"in"`
		Description string  `json:"description,omitempty"`
		Required    bool    `json:"required"`
		Schema      *schema `json:"schema"`
	}
	requestBody struct {
		Required bool                 `json:"required"`
		Content  map[string]mediaType `json:"content"`
	}
	response struct {
		Description string               `json:"description"`
		Content     map[string]mediaType `json:"content,omitempty"`
	}
	mediaType struct {
		Schema *schema `json:"schema"`
	}
	components struct {
		Schemas         map[string]*schema        `json:"schemas"`
		SecuritySchemes map[string]securityScheme `json:"securitySchemes"`
	}
	securityScheme struct {
		Type        string `json:"type"`
		In          string `json:"in"`
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}
)

// methods are the HTTP methods an OpenAPI path item can hold.
var methods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

// Document builds an OpenAPI 3.1.0 document (title, version, description, server list) from ops.
// The output depends only on its arguments, so it can be compared byte for byte in tests. It fails
// on a malformed or duplicate route and on a body type that encoding/json cannot produce.
func Document(info Info, ops []Operation) ([]byte, error) {
	doc, err := build(info, ops)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // descriptions are read by people; "<" need not become \u003c
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("openapi: encode document: %w", err)
	}
	return buf.Bytes(), nil
}

func build(in Info, ops []Operation) (*document, error) {
	version := in.Version
	if version == "" {
		version = "dev" // the field is required by OpenAPI; builds without a version are development builds
	}
	doc := &document{
		OpenAPI: "3.1.0",
		Info:    info{Title: in.Title, Version: version, Description: in.Description},
		Paths:   map[string]map[string]operation{},
		Components: components{
			Schemas: map[string]*schema{errorSchemaName: errorSchema()},
			SecuritySchemes: map[string]securityScheme{
				APIKeyHeader: {Type: "apiKey", In: "header", Name: APIKeyHeader,
					Description: "The tenant's API key; required on every API call."},
				SecretKeyHeader: {Type: "apiKey", In: "header", Name: SecretKeyHeader,
					Description: "The tenant's secret key; required by the operations that list it."},
			},
		},
	}
	for _, s := range in.Servers {
		doc.Servers = append(doc.Servers, server{URL: s})
	}
	if len(doc.Servers) == 0 {
		// "/" is what OpenAPI assumes anyway (the host that served the document); saying it keeps
		// tools that want an explicit server list quiet.
		doc.Servers = []server{{URL: "/"}}
	}

	// Operations are handled in path order, not in the caller's order: operation ids are made unique
	// and schemas named in that order, and reordering the route table must not rename anything.
	sorted := slices.Clone(ops)
	slices.SortStableFunc(sorted, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return slices.Index(methods, a.Method) - slices.Index(methods, b.Method)
	})
	gen := newGenerator()
	usedIDs := map[string]bool{}
	var tags []string
	for _, op := range ops {
		tags = append(tags, op.Tags...)
	}
	slices.Sort(tags) // sorted, like everything else, so that the order of the route table does not matter
	for _, t := range slices.Compact(tags) {
		doc.Tags = append(doc.Tags, tag{Name: t})
	}
	for _, op := range sorted {
		path, o, err := gen.operation(op)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s %s: %w", op.Method, op.Path, err)
		}
		method := strings.ToLower(op.Method)
		item := doc.Paths[path]
		if item == nil {
			item = map[string]operation{}
			doc.Paths[path] = item
		}
		if _, dup := item[method]; dup {
			return nil, fmt.Errorf("openapi: %s %s: duplicate route", op.Method, op.Path)
		}
		id := o.OperationID
		for n := 2; usedIDs[id]; n++ {
			id = o.OperationID + strconv.Itoa(n)
		}
		usedIDs[id] = true
		o.OperationID = id
		item[method] = o
	}
	named, err := gen.finish(errorSchemaName)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	for name, s := range named {
		doc.Components.Schemas[name] = s
	}
	return doc, nil
}

// operation converts op, returning the OpenAPI path it lives under.
func (g *generator) operation(op Operation) (string, operation, error) {
	if !slices.Contains(methods, op.Method) {
		return "", operation{}, fmt.Errorf("method %q is not an upper-case HTTP method OpenAPI can describe", op.Method)
	}
	path, names, err := parsePath(op.Path)
	if err != nil {
		return "", operation{}, err
	}
	o := operation{
		OperationID: operationID(op.Method, path),
		Summary:     op.Summary,
		Description: op.Description,
		Tags:        op.Tags,
		Responses:   map[string]response{},
	}
	for _, name := range names {
		o.Parameters = append(o.Parameters, parameter{Name: name, In: "path", Required: true, Schema: &schema{Type: types{"string"}}})
	}
	for _, q := range op.Query {
		t := q.Type
		if t == "" {
			t = "string"
		}
		if !slices.Contains([]string{"string", "integer", "number", "boolean"}, t) {
			return "", operation{}, fmt.Errorf("query parameter %q: unknown type %q", q.Name, q.Type)
		}
		if q.Name == "" {
			return "", operation{}, fmt.Errorf("query parameter without a name")
		}
		o.Parameters = append(o.Parameters, parameter{Name: q.Name, In: "query", Description: q.Description,
			Required: q.Required, Schema: &schema{Type: types{t}}})
	}
	if op.Request != nil {
		s, err := g.body(op.Request)
		if err != nil {
			return "", operation{}, fmt.Errorf("request body: %w", err)
		}
		o.RequestBody = &requestBody{Required: true, Content: map[string]mediaType{"application/json": {Schema: s}}}
	}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 {
		return "", operation{}, fmt.Errorf("status %d is not an HTTP status", status)
	}
	ok := response{Description: statusText(status)}
	if op.Response != nil {
		s, err := g.body(op.Response)
		if err != nil {
			return "", operation{}, fmt.Errorf("response body: %w", err)
		}
		ok.Content = map[string]mediaType{"application/json": {Schema: s}}
	}
	o.Responses[strconv.Itoa(status)] = ok
	for _, code := range op.Errors {
		if code < 400 || code > 599 {
			return "", operation{}, fmt.Errorf("error status %d is not a 4xx or 5xx status", code)
		}
		o.Responses[strconv.Itoa(code)] = response{Description: statusText(code),
			Content: map[string]mediaType{"application/json": {Schema: &schema{Ref: "#/components/schemas/" + errorSchemaName}}}}
	}
	switch {
	case op.Public:
		o.Security = []map[string][]string{}
	case op.Secret:
		o.Security = []map[string][]string{{APIKeyHeader: {}, SecretKeyHeader: {}}} // one requirement: both headers
	default:
		o.Security = []map[string][]string{{APIKeyHeader: {}}}
	}
	return path, o, nil
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(code)
}

// parsePath turns a ServeMux path into an OpenAPI one and lists its parameters. The multi-segment
// wildcard {name...} becomes {name}: OpenAPI has no such thing, and the value is still one string.
// The end anchor {$} only restricts matching, so it is dropped.
func parsePath(p string) (string, []string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", nil, fmt.Errorf("path %q does not start with /", p)
	}
	segs := strings.Split(p, "/")
	var names []string
	for i, seg := range segs {
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		if len(seg) < 3 || seg[0] != '{' || seg[len(seg)-1] != '}' || strings.Count(seg, "{") != 1 || strings.Count(seg, "}") != 1 {
			return "", nil, fmt.Errorf("path %q: segment %q must be a whole {name}", p, seg)
		}
		name := seg[1 : len(seg)-1]
		if name == "$" {
			if i != len(segs)-1 {
				return "", nil, fmt.Errorf("path %q: {$} must end the path", p)
			}
			segs[i] = ""
			continue
		}
		if n, ok := strings.CutSuffix(name, "..."); ok {
			if i != len(segs)-1 {
				return "", nil, fmt.Errorf("path %q: %s must end the path", p, seg)
			}
			name = n
		}
		if name == "" || slices.Contains(names, name) || strings.IndexFunc(name, func(r rune) bool {
			return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r))
		}) >= 0 {
			return "", nil, fmt.Errorf("path %q: bad or repeated parameter name %q", p, name)
		}
		names = append(names, name)
		segs[i] = "{" + name + "}"
	}
	return strings.Join(segs, "/"), names, nil
}

// operationID derives a camel-case id from the method and path: "GET /api/v4.0/customers/{id}" is
// "getApiV40CustomersById". Code generators turn ids into function names, hence letters and digits only.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			b.WriteString("By")
			seg = strings.Trim(seg, "{}")
		}
		for _, word := range strings.FieldsFunc(seg, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			r := []rune(word)
			b.WriteString(string(unicode.ToUpper(r[0])) + string(r[1:]))
		}
	}
	return b.String()
}

// errorSchema is the body of every error response.
func errorSchema() *schema {
	str := func(desc string) *schema { return &schema{Type: types{"string"}, Description: desc} }
	return &schema{
		Type:        types{"object"},
		Description: "The body of every error response.",
		Properties: properties{
			{"code", &schema{Type: types{"integer"}, Description: "Numeric error code, stable across releases."}},
			{"type", str("Short machine-readable name of the code.")},
			{"message", str("Human-readable explanation.")},
			{"requestId", str("Id of the request, also sent in the X-Request-Id header; quote it when reporting a problem.")},
			{"errors", &schema{
				Type:        types{"array"},
				Description: "Per-field validation errors, when the request body was invalid.",
				Items: &schema{
					Type: types{"object"},
					Properties: properties{
						{"field", str("JSON path of the offending field.")},
						{"message", str("What is wrong with it.")},
					},
					Required: []string{"field", "message"},
				},
			}},
		},
		Required: []string{"code", "type", "message", "requestId"},
	}
}
