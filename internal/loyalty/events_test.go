package loyalty_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

func TestEventsRequestParse(t *testing.T) {
	manyKeys := make([]string, loyalty.MaxMetadataKeys+1)
	for i := range manyKeys {
		manyKeys[i] = fmt.Sprintf(`"k%d":1`, i)
	}
	manyEvents := make([]string, loyalty.MaxEventsPerRequest+1)
	for i := range manyEvents {
		manyEvents[i] = fmt.Sprintf(`"e%d":{}`, i)
	}
	cases := []struct {
		name, body string
		code       loyalty.Code
		field      string
	}{
		{"no customer", `{"events":{"a":{}}}`, loyalty.CodeMissingArguments, "customerId"},
		{"no events", `{"customerId":"c"}`, loyalty.CodeMissingArguments, "events"},
		{"empty events", `{"customerId":"c","events":{}}`, loyalty.CodeMissingArguments, "events"},
		{"too many events", `{"customerId":"c","events":{` + strings.Join(manyEvents, ",") + `}}`, loyalty.CodeInvalidValue, "events"},
		{"bad event name", `{"customerId":"c","events":{"write review":{}}}`, loyalty.CodeInvalidValue, "events.write review"},
		{"long event name", `{"customerId":"c","events":{"` + strings.Repeat("e", 65) + `":{}}}`, loyalty.CodeInvalidValue, "events." + strings.Repeat("e", 65)},
		{"metadata not an object", `{"customerId":"c","events":{"a":"x"}}`, loyalty.CodeInvalidValue, "events.a"},
		{"metadata an array", `{"customerId":"c","events":{"a":[1]}}`, loyalty.CodeInvalidValue, "events.a"},
		{"bad metadata key", `{"customerId":"c","events":{"a":{"ok":1,"no way":2}}}`, loyalty.CodeInvalidValue, "events.a.no way"},
		{"empty metadata key", `{"customerId":"c","events":{"a":{"":2}}}`, loyalty.CodeMissingArguments, "events.a."},
		{"too many keys", `{"customerId":"c","events":{"a":{` + strings.Join(manyKeys, ",") + `}}}`, loyalty.CodeInvalidValue, "events.a"},
		{"too deep", `{"customerId":"c","events":{"a":{"x":[[[[1]]]]}}}`, loyalty.CodeInvalidValue, "events.a.x"},
		{"too large", `{"customerId":"c","events":{"a":{"x":"` + strings.Repeat("y", loyalty.MaxMetadataBytes) + `"}}}`, loyalty.CodeInvalidValue, "events.a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var req loyalty.EventsRequest
			if err := loyalty.DecodeJSON([]byte(c.body), &req); err != nil {
				t.Fatalf("decode: %v", err)
			}
			_, err := req.Parse()
			e, ok := loyalty.AsError(err)
			if !ok || e.Code != c.code || len(e.Fields) == 0 || e.Fields[0].Field != c.field {
				t.Fatalf("got %v, want code %d on %q", err, c.code, c.field)
			}
		})
	}

	t.Run("valid", func(t *testing.T) {
		body := `{"customerId":"c","events":{"b":null,"a":{"x":[[[1]]],"amount":12.50,"y":"` +
			strings.Repeat("y", 1000) + `"}}}`
		var req loyalty.EventsRequest
		if err := loyalty.DecodeJSON([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		events, err := req.Parse()
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].Name != "a" || events[1].Name != "b" || len(events[1].Metadata) != 0 ||
			string(events[0].Metadata["amount"]) != "12.50" {
			t.Fatalf("events: %+v", events)
		}
		// The stored form is the metadata's own encoding, keys sorted, "{}" for none.
		if want := `{"amount":12.50,"x":[[[1]]],"y":"` + strings.Repeat("y", 1000) + `"}`; string(events[0].StoredMetadata) != want ||
			string(events[1].StoredMetadata) != "{}" {
			t.Fatalf("stored metadata %s and %s", events[0].StoredMetadata, events[1].StoredMetadata)
		}
	})
}
