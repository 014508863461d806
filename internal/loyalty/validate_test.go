package loyalty

import (
	"strings"
	"testing"
)

func TestCheckIDs(t *testing.T) {
	cases := []struct {
		id        string
		code      Code // 0: valid
		newTxCode Code
	}{
		{"order-17", 0, 0},
		{"", CodeMissingArguments, CodeMissingArguments},
		{strings.Repeat("x", MaxIDLength), 0, 0},
		{strings.Repeat("x", MaxIDLength+1), CodeInvalidValue, CodeInvalidValue},
		{" padded", CodeInvalidValue, CodeInvalidValue},
		{"tab\there", CodeInvalidValue, CodeInvalidValue},
		{"tally:event:1:r", 0, CodeInvalidValue},
		{"Tally:mine", 0, 0},
	}
	for _, c := range cases {
		for _, check := range []struct {
			name string
			fn   func(string, string) error
			want Code
		}{{"CheckID", CheckID, c.code}, {"CheckNewTransactionID", CheckNewTransactionID, c.newTxCode}} {
			err := check.fn("transactionId", c.id)
			e, _ := AsError(err)
			switch {
			case check.want == 0 && err != nil:
				t.Errorf("%s(%q) = %v, want nil", check.name, c.id, err)
			case check.want != 0 && (e == nil || e.Code != check.want || e.Fields[0].Field != "transactionId"):
				t.Errorf("%s(%q) = %v, want code %d on transactionId", check.name, c.id, err, check.want)
			}
		}
	}
}

func TestCheckString(t *testing.T) {
	cases := []struct {
		v    string
		ok   bool
		desc string
	}{
		{"plain", true, "plain text"},
		{"two\nlines", true, "a newline is fine in free text"},
		{strings.Repeat("é", 10), true, "exactly the limit in characters"},
		{strings.Repeat("é", 11), false, "over the limit"},
		{"nul\x00", false, "NUL, which PostgreSQL cannot store"},
		{"\xff", false, "invalid UTF-8"},
	}
	for _, c := range cases {
		err := CheckString("email", c.v, 10)
		if (err == nil) != c.ok {
			t.Errorf("%s: CheckString(%q) = %v, want ok=%v", c.desc, c.v, err, c.ok)
		}
	}
}
