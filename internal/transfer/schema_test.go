package transfer

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// TestTypesMatchTheRequests holds each import type's columns to the request type that its batch
// decodes items into: every field of the request has a column of the right kind, and no column
// names a field the request lacks. The exceptions are deliberate: the informational columns of the
// customers export; line items, which come from JSONL only; and the event columns, which
// eventFromRow reshapes.
func TestTypesMatchTheRequests(t *testing.T) {
	requests := map[string]any{
		"customers": loyalty.CustomerRequest{}, "orders": loyalty.OrderRequest{}, "cashback": loyalty.CashbackRequest{},
		"adjustments": loyalty.ManualRequest{}, "redeem": loyalty.RedeemRequest{}, "events": loyalty.EventsRequest{},
	}
	for _, ty := range Types {
		t.Run(ty.Name, func(t *testing.T) {
			req, ok := requests[ty.Name]
			if !ok {
				t.Fatalf("no request type for %s", ty.Name)
			}
			var want []string
			requestFields(reflect.TypeOf(req), "", &want)
			var got []string
			for _, f := range ty.fields {
				if f.kind != kindSkip && f.path != "event" {
					got = append(got, f.path+" "+kindNames[f.kind])
				}
			}
			for _, prefix := range ty.free {
				if prefix != "metadata." {
					got = append(got, prefix+"* any")
				}
			}
			want = slices.DeleteFunc(want, func(f string) bool {
				return strings.HasPrefix(f, "lineItems ") || (ty.Name == "events" && strings.HasPrefix(f, "events."))
			})
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("columns\n%s\nrequest fields\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

var kindNames = map[kind]string{kindString: "string", kindNumber: "number", kindInteger: "integer", kindBool: "bool",
	kindList: "list", kindJSON: "json", kindAny: "any"}

// requestFields lists the JSON fields of a request type as "path kind".
func requestFields(t reflect.Type, prefix string, out *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		var k string
		switch {
		case ft == reflect.TypeOf(json.Number("")):
			k = "number"
		case ft.Kind() == reflect.Struct:
			requestFields(ft, path+".", out)
			continue
		case ft.Kind() == reflect.Map:
			*out = append(*out, path+".* any")
			continue
		case ft.Kind() == reflect.String:
			k = "string"
		case ft.Kind() == reflect.Bool:
			k = "bool"
		case ft.Kind() == reflect.Int || ft.Kind() == reflect.Int64:
			k = "integer"
		case ft == reflect.TypeOf([]string{}):
			k = "list"
		case ft.Kind() == reflect.Slice && ft.Elem() == reflect.TypeOf(json.RawMessage{}):
			k = "json"
		default:
			k = ft.String()
		}
		*out = append(*out, path+" "+k)
	}
}
