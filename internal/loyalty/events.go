package loyalty

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"
)

// Limits on events. They bound what one call may store and what a rule has to look at; see
// docs/events.md.
const (
	MaxNameLength       = 64   // an event name, a metadata key, an event rule id
	MaxEventsPerRequest = 20   // events in one POST /events body (or one events batch item)
	MaxMetadataKeys     = 50   // top-level keys of one event's metadata
	MaxMetadataBytes    = 4096 // one event's metadata as stored (compact JSON)
	MaxMetadataDepth    = 3    // levels of objects and arrays inside one metadata value
)

// names are what event names, metadata keys and rule ids may look like: short and plain, so that
// they read well in field paths such as "events.write_review.rating" and in transaction ids.
var names = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CheckName validates an event name, a metadata key or an event rule id: required, 1 to
// MaxNameLength ASCII letters, digits, '_' or '-'.
func CheckName(field, v string) error {
	switch {
	case v == "":
		return FieldErrorf(CodeMissingArguments, field, "is required")
	case len(v) > MaxNameLength || !names.MatchString(v):
		return FieldErrorf(CodeInvalidValue, field, "must be 1 to %d letters, digits, '_' or '-'", MaxNameLength)
	}
	return nil
}

// Metadata is the object sent with one event. Values keep their exact JSON text, so numbers are
// compared without rounding and stored as they came.
type Metadata map[string]json.RawMessage

// JSON encodes md as it is stored: compact, keys sorted, and "<", ">" and "&" left as they are (the
// HTML escaping of json.Marshal would change the text clients sent). Nil encodes as {}.
func (md Metadata) JSON() ([]byte, error) {
	if md == nil {
		return []byte("{}"), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]json.RawMessage(md)); err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// EventsRequest is the body of POST /events and one item of the events batch: one customer and one
// or more events, each an event name mapped to its metadata object.
type EventsRequest struct {
	CustomerID string                     `json:"customerId" doc:"Your id of the customer; an unknown customer is created."`
	Events     map[string]json.RawMessage `json:"events" doc:"Event names mapped to each event's metadata object (or null), e.g. {\"write_review\": {\"rating\": 5}}."`
	Email      string                     `json:"email,omitempty" doc:"Fills the customer's email when the profile has none."`
	Mobile     string                     `json:"mobile,omitempty" doc:"Fills the customer's mobile when the profile has none."`
}

// EventInput is one event of a request, checked, with its metadata read.
type EventInput struct {
	Name     string
	Metadata Metadata
	// StoredMetadata is Metadata as stored (Metadata.JSON): checking its size encodes it anyway.
	StoredMetadata []byte
}

// Parse validates the request against the documented limits and returns its events in name order
// (a JSON object has no order of its own; sorting makes single calls and batches store events alike).
func (r *EventsRequest) Parse() ([]EventInput, error) {
	err := FirstError(
		CheckID("customerId", r.CustomerID),
		CheckString("email", r.Email, MaxShortString),
		CheckString("mobile", r.Mobile, MaxShortString),
	)
	switch {
	case err != nil:
		return nil, err
	case r.Events == nil:
		return nil, FieldErrorf(CodeMissingArguments, "events", "is required")
	case len(r.Events) == 0:
		return nil, FieldErrorf(CodeMissingArguments, "events", "must hold at least one event")
	case len(r.Events) > MaxEventsPerRequest:
		return nil, FieldErrorf(CodeInvalidValue, "events", "must hold at most %d events", MaxEventsPerRequest)
	}
	inputs := make([]EventInput, 0, len(r.Events))
	for _, name := range slices.Sorted(maps.Keys(r.Events)) {
		field := "events." + name
		if err := CheckName(field, name); err != nil {
			return nil, err
		}
		md, stored, err := parseMetadata(field, r.Events[name])
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, EventInput{Name: name, Metadata: md, StoredMetadata: stored})
	}
	return inputs, nil
}

// parseMetadata reads and checks the metadata of the event at field: an object (or null, for none)
// with valid keys, shallow values and a bounded size. It returns the metadata and its stored form.
func parseMetadata(field string, raw json.RawMessage) (Metadata, []byte, error) {
	raw = bytes.TrimSpace(raw)
	md := Metadata{}
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if raw[0] != '{' {
			return nil, nil, FieldErrorf(CodeInvalidValue, field, "must be an object of metadata, not %s", jsonKind(raw))
		}
		if err := json.Unmarshal(raw, &md); err != nil {
			return nil, nil, FieldErrorf(CodeInvalidValue, field, "cannot be read: %v", err)
		}
	}
	if len(md) > MaxMetadataKeys {
		return nil, nil, FieldErrorf(CodeInvalidValue, field, "must hold at most %d keys", MaxMetadataKeys)
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if err := CheckName(field+"."+k, k); err != nil {
			return nil, nil, err
		}
		if depth(md[k]) > MaxMetadataDepth {
			return nil, nil, FieldErrorf(CodeInvalidValue, field+"."+k, "must nest at most %d levels of objects and arrays", MaxMetadataDepth)
		}
	}
	stored, err := md.JSON()
	if err != nil {
		return nil, nil, fmt.Errorf("loyalty: %s: %w", field, err)
	}
	if len(stored) > MaxMetadataBytes {
		return nil, nil, FieldErrorf(CodeInvalidValue, field, "must be at most %d bytes as JSON", MaxMetadataBytes)
	}
	return md, stored, nil
}

// jsonKind names the kind of a JSON value, for messages.
func jsonKind(raw []byte) string {
	switch kindOf(raw) {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	}
	return "an array" // objects and null are handled before
}

// Event is a stored event with the points it earned.
type Event struct {
	ID         int64        `json:"id" doc:"Tally's id of the stored event."`
	Event      string       `json:"event"`
	OccurredAt time.Time    `json:"occurredAt" doc:"When Tally received the event."`
	Metadata   Metadata     `json:"metadata,omitempty" doc:"The event's metadata (left out when empty, and in the answer to POST /events)."`
	Points     int64        `json:"points" doc:"Points the event earned, in total."`
	Awards     []EventAward `json:"awards" doc:"One entry per event rule that awarded points."`
}

// AddAward adds an award to the event and its points to the event's total.
func (e *Event) AddAward(a EventAward) {
	e.Awards = append(e.Awards, a)
	e.Points += a.Points
}

// EventAward is the points one event rule awarded for one event: a ledger entry with its own
// transaction id.
type EventAward struct {
	RuleID        string `json:"ruleId"`
	Points        int64  `json:"points"`
	TransactionID string `json:"transactionId"`
}

// EventCount sums up one event name's events over a time range.
type EventCount struct {
	Event     string `json:"event"`
	Count     int64  `json:"count" doc:"Events of this name."`
	Customers int64  `json:"customers" doc:"Distinct customers who sent them."`
	Points    int64  `json:"points" doc:"Points they earned."`
}
