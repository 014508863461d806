package loyalty

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
)

// Limits on event rules.
const (
	MaxEventRules      = 100           // rules in one program
	MaxRuleConditions  = 10            // conditions of one rule
	MaxConditionValues = 50            // values of one "in" condition
	MaxRulePoints      = 1_000_000_000 // points one rule awards for one event
)

// The operators of a Condition.
const (
	OpEq  = "eq"  // the metadata value equals Value
	OpGt  = "gt"  // the metadata value is a number greater than Value
	OpGte = "gte" // ... greater than or equal to Value
	OpLt  = "lt"  // ... less than Value
	OpLte = "lte" // ... less than or equal to Value
	OpIn  = "in"  // the metadata value equals one of the values listed in Value
)

// EventRule awards points for an event: every event named Event whose metadata meets all the
// Conditions earns Points, unless a cap is reached. The caps count this rule's awards to one
// customer: MaxPerCustomer in total, MaxPerCustomerPerDay within the UTC day of the event; zero
// means no cap.
type EventRule struct {
	ID                   string      `json:"id,omitempty" doc:"Names the rule; defaults to the event name. Caps and transaction ids use it, so rules of the same event need distinct ids."`
	Event                string      `json:"event"`
	Conditions           []Condition `json:"conditions,omitempty" doc:"All must hold for the rule to apply."`
	Points               int64       `json:"points"`
	MaxPerCustomer       int64       `json:"maxPerCustomer,omitempty" doc:"Awards of this rule to one customer, in total; 0 for no cap."`
	MaxPerCustomerPerDay int64       `json:"maxPerCustomerPerDay,omitempty" doc:"Awards of this rule to one customer per UTC day; 0 for no cap."`
}

// Condition tests one metadata value of an event, e.g. {"key": "amount", "op": "gte", "value": 100}.
// A number in Value compares numerically with a metadata number or a string holding a decimal
// number; a string compares exactly with a metadata string; a boolean with a metadata boolean. An
// event whose metadata lacks Key does not meet the condition.
type Condition struct {
	Key   string          `json:"key"`
	Op    string          `json:"op" enum:"eq,gt,gte,lt,lte,in"`
	Value json.RawMessage `json:"value" doc:"A string, number or boolean; a number for gt, gte, lt and lte; a list of them for in."`
}

// RuleID returns the id that caps and transaction ids use: ID, or the event name when ID is empty.
func (r *EventRule) RuleID() string {
	if r.ID != "" {
		return r.ID
	}
	return r.Event
}

// Validate checks the rule against the documented limits; fields are named relative to the rule.
func (r *EventRule) Validate() error {
	if r.ID != "" {
		if err := CheckName("id", r.ID); err != nil {
			return err
		}
	}
	if err := CheckName("event", r.Event); err != nil {
		return err
	}
	if len(r.Conditions) > MaxRuleConditions {
		return FieldErrorf(CodeInvalidValue, "conditions", "must hold at most %d conditions", MaxRuleConditions)
	}
	for i, c := range r.Conditions {
		if err := c.validate(fmt.Sprintf("conditions[%d].", i)); err != nil {
			return err
		}
	}
	switch {
	case r.Points < 1 || r.Points > MaxRulePoints:
		return FieldErrorf(CodeInvalidValue, "points", "must be from 1 to %d", MaxRulePoints)
	case r.MaxPerCustomer < 0:
		return FieldErrorf(CodeInvalidValue, "maxPerCustomer", "must not be negative")
	case r.MaxPerCustomerPerDay < 0:
		return FieldErrorf(CodeInvalidValue, "maxPerCustomerPerDay", "must not be negative")
	}
	return nil
}

// ValidateEventRules checks a program's event rules, each and together: their ids must differ.
// Fields are named from the program, e.g. "eventRules[2].conditions[0].value".
func ValidateEventRules(rules []EventRule) error {
	if len(rules) > MaxEventRules {
		return FieldErrorf(CodeInvalidValue, "eventRules", "must hold at most %d rules", MaxEventRules)
	}
	first := make(map[string]int, len(rules)) // rule id -> index of the first rule with it
	for i := range rules {
		prefix := fmt.Sprintf("eventRules[%d].", i)
		if err := rules[i].Validate(); err != nil {
			if e, ok := AsError(err); ok {
				return e.WithFieldPrefix(prefix)
			}
			return err
		}
		id := rules[i].RuleID()
		if j, ok := first[id]; ok {
			return FieldErrorf(CodeInvalidValue, prefix+"id", "%q is already the id of eventRules[%d]; rules of the same event need distinct ids", id, j)
		}
		first[id] = i
	}
	return nil
}

func (c *Condition) validate(prefix string) error {
	if err := CheckName(prefix+"key", c.Key); err != nil {
		return err
	}
	field := prefix + "value"
	if len(bytes.TrimSpace(c.Value)) == 0 {
		return FieldErrorf(CodeMissingArguments, field, "is required")
	}
	switch c.Op {
	case OpEq:
		return checkScalar(field, c.Value)
	case OpGt, OpGte, OpLt, OpLte:
		if kindOf(c.Value) != kindNumber {
			return FieldErrorf(CodeInvalidValue, field, "must be a number for %s", c.Op)
		}
		return nil
	case OpIn:
		var list []json.RawMessage
		if json.Unmarshal(c.Value, &list) != nil || len(list) == 0 || len(list) > MaxConditionValues {
			return FieldErrorf(CodeInvalidValue, field, "must be a list of 1 to %d strings, numbers or booleans", MaxConditionValues)
		}
		for i, v := range list {
			if err := checkScalar(fmt.Sprintf("%s[%d]", field, i), v); err != nil {
				return err
			}
		}
		return nil
	case "":
		return FieldErrorf(CodeMissingArguments, prefix+"op", "is required")
	}
	return FieldErrorf(CodeInvalidValue, prefix+"op", "must be one of eq, gt, gte, lt, lte, in")
}

// checkScalar accepts a string of at most MaxShortString characters, a number or a boolean.
func checkScalar(field string, v json.RawMessage) error {
	switch kindOf(v) {
	case kindNumber, kindBool:
		return nil
	case kindString:
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return FieldErrorf(CodeInvalidValue, field, "cannot be read: %v", err)
		}
		return CheckString(field, s, MaxShortString)
	}
	return FieldErrorf(CodeInvalidValue, field, "must be a string, number or boolean")
}

// Matches reports whether an event named event with metadata md earns the rule's points, caps aside.
func (r *EventRule) Matches(event string, md Metadata) bool {
	if r.Event != event {
		return false
	}
	for i := range r.Conditions {
		if !r.Conditions[i].holds(md[r.Conditions[i].Key]) {
			return false
		}
	}
	return true
}

// holds reports whether the metadata value v (nil when absent) meets the condition.
func (c *Condition) holds(v json.RawMessage) bool {
	if v == nil {
		return false
	}
	switch c.Op {
	case OpEq:
		return equal(v, c.Value)
	case OpIn:
		var list []json.RawMessage
		if json.Unmarshal(c.Value, &list) != nil {
			return false
		}
		return slices.ContainsFunc(list, func(w json.RawMessage) bool { return equal(v, w) })
	}
	a, okA := numberOf(v)
	b, okB := numberOf(c.Value)
	if !okA || !okB {
		return false
	}
	switch cmp := a.Cmp(b); c.Op {
	case OpGt:
		return cmp > 0
	case OpGte:
		return cmp >= 0
	case OpLt:
		return cmp < 0
	case OpLte:
		return cmp <= 0
	}
	return false
}

// equal reports whether the metadata value v equals the rule's value w; w's kind decides how they
// compare.
func equal(v, w json.RawMessage) bool {
	switch kindOf(w) {
	case kindNumber:
		a, okA := numberOf(v)
		b, okB := numberOf(w)
		return okA && okB && a.Cmp(b) == 0
	case kindString, kindBool:
		if kindOf(v) != kindOf(w) {
			return false
		}
		var a, b any
		return json.Unmarshal(v, &a) == nil && json.Unmarshal(w, &b) == nil && a == b
	}
	return false
}

// decimal is a JSON number, which is also what a numeric metadata string must hold.
var decimal = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numberPrecision is the mantissa size numbers compare at: exact for any integer and decimal a
// client plausibly sends.
const numberPrecision = 256

// numberOf reads a JSON number, or a JSON string holding one, as a number; ok is false for anything
// else, and for exponents too large to represent.
func numberOf(v json.RawMessage) (n *big.Float, ok bool) {
	text := string(bytes.TrimSpace(v))
	if kindOf(v) == kindString {
		if json.Unmarshal(v, &text) != nil {
			return nil, false
		}
	}
	if !decimal.MatchString(text) {
		return nil, false
	}
	n, _, err := new(big.Float).SetPrec(numberPrecision).Parse(text, 10)
	return n, err == nil
}

// The kinds of JSON scalar a condition compares.
const (
	kindOther = iota // object, array or null
	kindString
	kindNumber
	kindBool
)

// kindOf tells the kind of a valid JSON value from its first byte.
func kindOf(v []byte) int {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return kindOther
	}
	switch c := v[0]; {
	case c == '"':
		return kindString
	case c == '-' || c >= '0' && c <= '9':
		return kindNumber
	case c == 't' || c == 'f':
		return kindBool
	}
	return kindOther
}
