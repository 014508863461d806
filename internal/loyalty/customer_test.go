package loyalty

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestCustomerTags holds customerAttributes.tags to the rules of the tag endpoints, with errors
// naming the offending tag by its place in the request.
func TestCustomerTags(t *testing.T) {
	many := make([]string, MaxTags+1)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	cases := []struct {
		name  string
		tags  []string
		want  []string // nil: left out
		field string   // "": accepted
	}{
		{"left out", nil, nil, ""},
		{"cleared", []string{}, []string{}, ""},
		{"trimmed, deduplicated", []string{" vip", "", "vip ", "early", "  "}, []string{"vip", "early"}, ""},
		{"only blanks", []string{" "}, []string{}, ""},
		{"longest", []string{strings.Repeat("x", MaxTagLength)}, []string{strings.Repeat("x", MaxTagLength)}, ""},
		{"over-long", []string{"ok", "", strings.Repeat("x", MaxTagLength+1)}, nil, "customerAttributes.tags[2]"},
		{"most", many[:MaxTags], many[:MaxTags], ""},
		{"too many", many, nil, "customerAttributes.tags"},
		{"too many once repeats go", append(slices.Clone(many[:MaxTags]), many[0]), many[:MaxTags], ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := CustomerRequest{CustomerID: "c1", CustomerAttributes: &CustomerAttributes{Tags: c.tags}}
			err := r.Validate()
			if c.field != "" {
				if e, ok := AsError(err); !ok || e.Code != CodeInvalidValue || e.Fields[0].Field != c.field {
					t.Fatalf("got %v, want code %d on %s", err, CodeInvalidValue, c.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.CustomerAttributes.Tags; !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
				t.Fatalf("tags %q, want %q", got, c.want)
			}
		})
	}
}

func TestParseTags(t *testing.T) {
	tags, err := ParseTags("tags", " vip,,newsletter , vip")
	if err != nil || !slices.Equal(tags, []string{"vip", "newsletter"}) {
		t.Fatalf("%q %v", tags, err)
	}
	if _, err := ParseTags("tags", " , "); err == nil {
		t.Fatal("a list without tags was accepted")
	} else if e, _ := AsError(err); e == nil || e.Code != CodeMissingArguments || e.Fields[0].Field != "tags" {
		t.Fatalf("got %v, want code %d on tags", err, CodeMissingArguments)
	}
	_, err = ParseTags("tags", "ok,"+strings.Repeat("x", MaxTagLength+1))
	if e, _ := AsError(err); e == nil || e.Code != CodeInvalidValue || e.Fields[0].Field != "tags" {
		t.Fatalf("got %v, want code %d on tags", err, CodeInvalidValue)
	}
}
