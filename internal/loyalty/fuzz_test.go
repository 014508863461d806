package loyalty_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// The fuzz targets below hold every request body Tally accepts to one property: decoding it with
// DecodeJSON and checking it never panics; a rejected body gets a *loyalty.Error with a code of the
// catalogue; an accepted body encodes to valid UTF-8 (it is stored as text) and, encoded again,
// decodes and checks to the same encoding. `go test` replays the corpus under testdata/fuzz;
// `go test -fuzz=FuzzOrderRequest ./internal/loyalty` searches for more.

func FuzzCustomerRequest(f *testing.F) { fuzzRequest(f, (*loyalty.CustomerRequest).Validate) }

func FuzzEventsRequest(f *testing.F) {
	fuzzRequest(f, func(r *loyalty.EventsRequest) error {
		_, err := r.Parse()
		return err
	})
}

func FuzzEventRule(f *testing.F) { fuzzRequest(f, (*loyalty.EventRule).Validate) }

func FuzzProgram(f *testing.F) {
	fuzzRequest(f, func(p *loyalty.Program) error {
		_, err := p.Compile()
		return err
	})
}

func FuzzOrderRequest(f *testing.F)    { fuzzParse(f, (*loyalty.OrderRequest).Parse) }
func FuzzCashbackRequest(f *testing.F) { fuzzParse(f, (*loyalty.CashbackRequest).Parse) }
func FuzzManualRequest(f *testing.F)   { fuzzParse(f, (*loyalty.ManualRequest).Parse) }
func FuzzHoldRequest(f *testing.F)     { fuzzParse(f, (*loyalty.HoldRequest).Parse) }
func FuzzRedeemRequest(f *testing.F)   { fuzzParse(f, (*loyalty.RedeemRequest).Parse) }
func FuzzRefundRequest(f *testing.F)   { fuzzParse(f, (*loyalty.RefundRequest).Parse) }

func FuzzParseTags(f *testing.F) {
	f.Fuzz(func(t *testing.T, list string) {
		tags, err := loyalty.ParseTags("tags", list)
		if err != nil {
			wantCoded(t, "ParseTags", []byte(list), err)
			return
		}
		if len(tags) == 0 || len(tags) > loyalty.MaxTags {
			t.Fatalf("ParseTags(%q) accepted %d tags", list, len(tags))
		}
		for _, tag := range tags {
			if tag == "" || utf8.RuneCountInString(tag) > loyalty.MaxTagLength {
				t.Fatalf("ParseTags(%q) accepted the tag %q", list, tag)
			}
		}
	})
}

// fuzzParse fuzzes a points request, checked against the rules of the default program.
func fuzzParse[T, Parsed any](f *testing.F, parse func(*T, loyalty.Rules) (Parsed, error)) {
	program := loyalty.DefaultProgram()
	rules, err := program.Compile()
	if err != nil {
		f.Fatal(err)
	}
	fuzzRequest(f, func(r *T) error {
		_, err := parse(r, rules)
		return err
	})
}

// fuzzRequest fuzzes the decoding of the request type T followed by check.
func fuzzRequest[T any](f *testing.F, check func(*T) error) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var req T
		if err := loyalty.DecodeJSON(data, &req); err != nil {
			wantCoded(t, "DecodeJSON", data, err)
			return
		}
		if err := check(&req); err != nil {
			wantCoded(t, "the check", data, err)
			return
		}
		first, err := json.Marshal(&req)
		if err != nil {
			t.Fatalf("encode the accepted %q: %v", data, err)
		}
		if !utf8.Valid(first) {
			t.Fatalf("%q was accepted with invalid UTF-8, which PostgreSQL refuses to store: %q", data, first)
		}
		var again T
		if err := loyalty.DecodeJSON(first, &again); err != nil {
			t.Fatalf("%q was accepted, but its encoding %s is not: %v", data, first, err)
		}
		if err := check(&again); err != nil {
			t.Fatalf("%q was accepted, but its encoding %s is not: %v", data, first, err)
		}
		second, err := json.Marshal(&again)
		if err != nil {
			t.Fatalf("encode %s again: %v", first, err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("%q does not round-trip:\n%s\n%s", data, first, second)
		}
	})
}

// wantCoded fails unless err is a *loyalty.Error with a code of the catalogue, a message, and
// named fields where it names any.
func wantCoded(t *testing.T, stage string, data []byte, err error) {
	t.Helper()
	e, ok := loyalty.AsError(err)
	if !ok {
		t.Fatalf("%s rejected %q with %v, not a *loyalty.Error", stage, data, err)
	}
	if e.Code.Type() == "Error" || e.Code == loyalty.CodeInternal || e.Message == "" {
		t.Fatalf("%s rejected %q with code %d (%s): not a client error of the catalogue", stage, data, e.Code, e.Message)
	}
	for _, fe := range e.Fields {
		if fe.Field == "" || fe.Message == "" {
			t.Fatalf("%s rejected %q naming an empty field: %+v", stage, data, e.Fields)
		}
	}
}
