// Package transfer moves files through Tally's API: Import reads CSV or JSONL rows, sends them as
// batches of 1,000 with stable Idempotency-Keys and writes a report of the rows that failed; Export
// pages through a tenant's data and writes it as CSV or JSONL. The tally command's import and export
// subcommands are thin wrappers around it.
package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// kind says how a CSV cell becomes a JSON value on import, and how a JSON value becomes a cell on
// export; the two are inverses, so that an exported file imports to the same data.
type kind int

const (
	kindString  kind = iota // the cell's text, exactly
	kindNumber              // a JSON number kept exactly as written (19.99 stays 19.99; never a float64)
	kindInteger             // a whole JSON number
	kindBool                // true or false
	kindList                // a list of strings: a JSON array, or items separated by commas
	kindJSON                // a JSON array or object written out in the cell
	kindAny                 // a free value (custom attributes, metadata): JSON when the cell is JSON, else text
	kindSkip                // a column export writes for information (gameballId, createdAt): ignored on import
)

// field is a column with a fixed path.
type field struct {
	path string
	kind kind
}

// shorthand lets a header name a long path briefly: a header equal to short, or starting with it
// when short ends with a dot, stands for the same header with long in its place.
type shorthand struct{ short, long string }

// Type is one kind of row that tally import reads and the batch it becomes.
type Type struct {
	// Name is the type's name on the command line.
	Name string
	// BatchType is the batch API's type the rows are sent as.
	BatchType string
	fields    []field
	// free are path prefixes (ending in a dot) under which any key holds a free value (kindAny).
	free       []string
	shorthands []shorthand
	// reshape turns the object a CSV row built into the batch item, for types whose CSV layout is
	// not the item's (events); nil means the object is the item.
	reshape func(*object) error
}

// text returns string fields with the paths.
func text(paths ...string) []field {
	fs := make([]field, len(paths))
	for i, p := range paths {
		fs[i] = field{p, kindString}
	}
	return fs
}

// fields joins groups of fields.
func fields(groups ...[]field) []field { return slices.Concat(groups...) }

// customers are the profiles of POST /customers. The export of customers writes the same columns.
var customers = &Type{
	Name: "customers", BatchType: "customers",
	fields: fields(text("customerId", "email", "mobile"), []field{{"guest", kindBool}},
		text("customerAttributes.displayName", "customerAttributes.firstName", "customerAttributes.lastName",
			"customerAttributes.email", "customerAttributes.gender", "customerAttributes.mobile",
			"customerAttributes.dateOfBirth", "customerAttributes.joinDate", "customerAttributes.country",
			"customerAttributes.city", "customerAttributes.zip", "customerAttributes.preferredLanguage",
			"customerAttributes.source", "customerAttributes.channel", "customerAttributes.lastOrderDate"),
		[]field{
			{"customerAttributes.utms", kindJSON}, {"customerAttributes.devices", kindJSON},
			{"customerAttributes.paymentMethods", kindList}, {"customerAttributes.totalSpent", kindNumber},
			{"customerAttributes.totalOrders", kindInteger}, {"customerAttributes.avgOrderAmount", kindNumber},
			{"customerAttributes.tags", kindList},
			{"gameballId", kindSkip}, {"createdAt", kindSkip}, {"updatedAt", kindSkip},
		}),
	free:       []string{"customerAttributes.custom."},
	shorthands: []shorthand{{"custom.", "customerAttributes.custom."}, {"tags", "customerAttributes.tags"}},
}

// Types are the types tally import knows, in the order the help text lists them. Their fields are
// those of the matching request types in internal/loyalty (a test holds them together), except
// that line items of orders come from JSONL only.
var Types = []*Type{
	customers,
	{
		Name: "orders", BatchType: "orders",
		fields: fields(text("customerId", "orderId", "orderDate"),
			[]field{{"totalPaid", kindNumber}, {"totalPrice", kindNumber}, {"totalDiscount", kindNumber},
				{"totalShipping", kindNumber}, {"totalTax", kindNumber}},
			text("redemption.pointsHoldReference", "channel", "cartId"),
			[]field{{"cashbackConfigurations.returnWindow", kindInteger}}),
		free: []string{"extra."},
	},
	{
		Name: "cashback", BatchType: "cashback",
		fields: fields(text("customerId", "transactionId", "transactionTime"),
			[]field{{"amount", kindNumber}, {"configurations.returnWindow", kindInteger}}),
	},
	{
		Name: "adjustments", BatchType: "balance-adjustment",
		fields: fields(text("customerId", "transactionId", "transactionTime", "username", "reason"),
			[]field{{"points", kindInteger}, {"amount", kindNumber}, {"expiryAfter", kindInteger}}),
	},
	{
		Name: "redeem", BatchType: "redeem",
		fields: fields(text("customerId", "transactionId", "transactionTime"),
			[]field{{"amount", kindNumber}, {"points", kindInteger}}, text("holdReference", "reason")),
	},
	{
		Name: "events", BatchType: "events",
		fields:  text("customerId", "email", "mobile", "event"),
		free:    []string{"metadata."},
		reshape: eventFromRow,
	},
}

// TypeNamed returns the import type with the name.
func TypeNamed(name string) (*Type, error) {
	for _, t := range Types {
		if t.Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("unknown type %q: want one of %s", name, typeNames())
}

func typeNames() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// expand rewrites a header that uses a shorthand to the full path.
func (t *Type) expand(header string) string {
	for _, s := range t.shorthands {
		if header == s.short || (strings.HasSuffix(s.short, ".") && strings.HasPrefix(header, s.short)) {
			return s.long + strings.TrimPrefix(header, s.short)
		}
	}
	return header
}

// abbreviate is the inverse of expand: the header export writes for a full path.
func (t *Type) abbreviate(path string) string {
	for _, s := range t.shorthands {
		if path == s.long || (strings.HasSuffix(s.long, ".") && strings.HasPrefix(path, s.long)) {
			return s.short + strings.TrimPrefix(path, s.long)
		}
	}
	return path
}

// kindOf returns the kind of the value at a full path, and whether the type knows the path.
func (t *Type) kindOf(path string) (kind, bool) {
	for _, f := range t.fields {
		if f.path == path {
			return f.kind, true
		}
	}
	for _, prefix := range t.free {
		if key, ok := strings.CutPrefix(path, prefix); ok && key != "" {
			return kindAny, true
		}
	}
	return 0, false
}

// lookup returns the full path and the kind of a field that a flag (--map, --set) names.
func (t *Type) lookup(flag, fieldName string) (string, kind, error) {
	path := t.expand(fieldName)
	k, ok := t.kindOf(path)
	if !ok || k == kindSkip {
		return "", 0, fmt.Errorf("%s %s: %s rows have no field %q", flag, fieldName, t.Name, fieldName)
	}
	return path, k, nil
}

var (
	numberRE  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	integerRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
)

// value converts a non-empty CSV cell to the JSON value of the kind.
func (k kind) value(cell string) (json.RawMessage, error) {
	switch k {
	case kindNumber:
		n := strings.TrimSpace(cell)
		if !numberRE.MatchString(n) {
			return nil, fmt.Errorf("must be a number such as 19.99, not %q", cell)
		}
		return json.RawMessage(n), nil
	case kindInteger:
		n := strings.TrimSpace(cell)
		if !integerRE.MatchString(n) {
			return nil, fmt.Errorf("must be a whole number, not %q", cell)
		}
		return json.RawMessage(n), nil
	case kindBool:
		switch strings.ToLower(strings.TrimSpace(cell)) {
		case "true":
			return json.RawMessage("true"), nil
		case "false":
			return json.RawMessage("false"), nil
		}
		return nil, fmt.Errorf("must be true or false, not %q", cell)
	case kindList:
		if strings.HasPrefix(strings.TrimSpace(cell), "[") {
			var list []string
			if err := json.Unmarshal([]byte(cell), &list); err != nil {
				return nil, fmt.Errorf("must be a JSON array of strings or a comma-separated list: %w", err)
			}
			return quote(list), nil
		}
		list := []string{}
		for _, s := range strings.Split(cell, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		return quote(list), nil
	case kindJSON:
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(cell)); err != nil {
			return nil, fmt.Errorf("must be JSON: %w", err)
		}
		return buf.Bytes(), nil
	case kindAny:
		if isJSONText(cell) {
			var buf bytes.Buffer
			if err := json.Compact(&buf, []byte(cell)); err != nil {
				return nil, fmt.Errorf("compact JSON %q: %w", cell, err)
			}
			return buf.Bytes(), nil
		}
		return quote(cell), nil
	}
	return quote(cell), nil
}

// cell converts a JSON value to the CSV cell of the kind; null is an empty cell.
func (k kind) cell(v json.RawMessage) (string, error) {
	if string(v) == "null" {
		return "", nil
	}
	var s string
	if v[0] != '"' {
		// Numbers, booleans, arrays and objects read as their JSON text in every kind.
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return "", fmt.Errorf("compact %s: %w", v, err)
		}
		return buf.String(), nil
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("decode string %s: %w", v, err)
	}
	// A free value whose text would read back as JSON (or as nothing) keeps its quotes.
	if k == kindAny && (s == "" || isJSONText(s)) {
		return string(quote(s)), nil
	}
	return s, nil
}

// isJSONText reports whether a free value's cell is meant as JSON: it parses as JSON and has no
// surrounding spaces (" 12" stays the text " 12").
func isJSONText(s string) bool {
	return s != "" && s == strings.TrimSpace(s) && json.Valid([]byte(s))
}

// quote encodes a string or a list of strings as JSON.
func quote(v any) json.RawMessage {
	b, err := encode(v)
	if err != nil {
		panic(fmt.Sprintf("transfer: %v", err)) // strings and string slices always encode
	}
	return b
}

// eventFromRow turns the CSV layout of an event, {customerId, event, metadata: {...}}, into the
// batch item {customerId, events: {<event>: {...}}}.
func eventFromRow(o *object) error {
	name, ok := o.take("event")
	if !ok {
		return fmt.Errorf("event: the column is required and must not be empty")
	}
	var event string
	if raw, isValue := name.(json.RawMessage); !isValue || json.Unmarshal(raw, &event) != nil {
		return fmt.Errorf("event: must be an event name")
	}
	metadata, ok := o.take("metadata")
	if !ok {
		metadata = &object{}
	}
	events := &object{}
	events.put(event, metadata)
	o.put("events", events)
	return nil
}
