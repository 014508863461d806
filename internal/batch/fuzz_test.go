package batch_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/tally-loyalty/tally/internal/batch"
	"github.com/tally-loyalty/tally/internal/loyalty"
)

// FuzzParseBody holds the batch envelope to its contract: no input panics; a rejected envelope gets
// a *loyalty.Error with one of the envelope's codes; an accepted one holds 1 to MaxItems items, each
// compact JSON in valid UTF-8 (items are stored as text), and the same items wrapped again parse
// to the same items. The items themselves are decoded like the single endpoints' bodies, which the
// fuzz targets of internal/loyalty cover.
func FuzzParseBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := batch.ParseBody(data)
		if err != nil {
			e, ok := loyalty.AsError(err)
			if !ok {
				t.Fatalf("%q rejected with %v, not a *loyalty.Error", data, err)
			}
			switch e.Code {
			case loyalty.CodeInvalidPayload, loyalty.CodeMissingArguments, loyalty.CodeLimitExceeded:
			default:
				t.Fatalf("%q rejected with code %d (%s), not an envelope code", data, e.Code, e.Message)
			}
			return
		}
		if len(items) == 0 || len(items) > batch.MaxItems {
			t.Fatalf("%q accepted with %d items", data, len(items))
		}
		for i, item := range items {
			var compact bytes.Buffer
			if err := json.Compact(&compact, item); err != nil || !bytes.Equal(compact.Bytes(), item) {
				t.Fatalf("%q: item %d is not compact JSON: %s", data, i, item)
			}
			if !utf8.Valid(item) {
				t.Fatalf("%q: item %d is not valid UTF-8, which PostgreSQL refuses to store: %q", data, i, item)
			}
		}
		again, err := batch.ParseBody([]byte(`{"body":[` + string(bytes.Join(toBytes(items), []byte(","))) + `]}`))
		if err != nil {
			t.Fatalf("%q was accepted, but its items wrapped again are not: %v", data, err)
		}
		if len(again) != len(items) {
			t.Fatalf("%q: %d items, wrapped again %d", data, len(items), len(again))
		}
		for i := range items {
			if !bytes.Equal(items[i], again[i]) {
				t.Fatalf("%q: item %d changed when wrapped again: %s, %s", data, i, items[i], again[i])
			}
		}
	})
}

func toBytes(items []json.RawMessage) [][]byte {
	out := make([][]byte, len(items))
	for i, item := range items {
		out[i] = item
	}
	return out
}
