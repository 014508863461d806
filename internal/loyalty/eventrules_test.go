package loyalty_test

import (
	"encoding/json"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

func cond(key, op, value string) loyalty.Condition {
	return loyalty.Condition{Key: key, Op: op, Value: json.RawMessage(value)}
}

func TestEventRuleMatches(t *testing.T) {
	md := loyalty.Metadata{
		"amount":  json.RawMessage(`150.50`),
		"qty":     json.RawMessage(`"3"`),
		"rating":  json.RawMessage(`5`),
		"channel": json.RawMessage(`"web"`),
		"vip":     json.RawMessage(`true`),
		"tags":    json.RawMessage(`["a"]`),
		"huge":    json.RawMessage(`1e999999999999`),
	}
	cases := []struct {
		name string
		c    loyalty.Condition
		want bool
	}{
		{"eq number", cond("rating", "eq", `5`), true},
		{"eq number other spelling", cond("rating", "eq", `5.0`), true},
		{"eq number differs", cond("rating", "eq", `4`), false},
		{"eq number against numeric string", cond("qty", "eq", `3`), true},
		{"eq string", cond("channel", "eq", `"web"`), true},
		{"eq string differs", cond("channel", "eq", `"pos"`), false},
		{"eq string is not a number", cond("rating", "eq", `"5"`), false},
		{"eq bool", cond("vip", "eq", `true`), true},
		{"eq bool differs", cond("vip", "eq", `false`), false},
		{"eq against an array", cond("tags", "eq", `"a"`), false},
		{"gt", cond("amount", "gt", `150.49`), true},
		{"gt equal", cond("amount", "gt", `150.5`), false},
		{"gte equal", cond("amount", "gte", `150.5`), true},
		{"gte below", cond("amount", "gte", `150.51`), false},
		{"lt", cond("amount", "lt", `151`), true},
		{"lt equal", cond("amount", "lt", `150.50`), false},
		{"lte equal", cond("amount", "lte", `1.505e2`), true},
		{"lte above", cond("amount", "lte", `100`), false},
		{"numeric string compares", cond("qty", "gte", `3`), true},
		{"non-numeric string does not compare", cond("channel", "gt", `0`), false},
		{"bool does not compare", cond("vip", "gt", `0`), false},
		{"unrepresentable number does not compare", cond("huge", "gt", `0`), false},
		{"in", cond("channel", "in", `["pos", "web"]`), true},
		{"in absent", cond("channel", "in", `["pos", "app"]`), false},
		{"in numbers", cond("rating", "in", `[4, 5]`), true},
		{"in mixed", cond("vip", "in", `["yes", true]`), true},
		{"missing key", cond("coupon", "eq", `"x"`), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := loyalty.EventRule{Event: "purchase", Points: 10, Conditions: []loyalty.Condition{c.c}}
			if err := r.Validate(); err != nil {
				t.Fatalf("the rule is invalid: %v", err)
			}
			if got := r.Matches("purchase", md); got != c.want {
				t.Fatalf("Matches = %v, want %v", got, c.want)
			}
		})
	}

	t.Run("every condition must hold", func(t *testing.T) {
		r := loyalty.EventRule{Event: "purchase", Points: 10,
			Conditions: []loyalty.Condition{cond("amount", "gte", `100`), cond("channel", "eq", `"pos"`)}}
		if r.Matches("purchase", md) {
			t.Fatal("matched with a failing condition")
		}
		r.Conditions[1] = cond("channel", "eq", `"web"`)
		if !r.Matches("purchase", md) {
			t.Fatal("did not match with every condition holding")
		}
	})
	t.Run("event name", func(t *testing.T) {
		r := loyalty.EventRule{Event: "purchase", Points: 10}
		if !r.Matches("purchase", nil) || r.Matches("Purchase", md) || r.Matches("refund", md) {
			t.Fatal("a rule without conditions must match exactly its event name")
		}
	})
}

func TestEventRuleValidation(t *testing.T) {
	valid := func() loyalty.EventRule {
		return loyalty.EventRule{Event: "purchase", Points: 10, Conditions: []loyalty.Condition{cond("amount", "gte", `100`)}}
	}
	cases := []struct {
		name   string
		change func(r *loyalty.EventRule)
		code   loyalty.Code
		field  string
	}{
		{"no event", func(r *loyalty.EventRule) { r.Event = "" }, loyalty.CodeMissingArguments, "eventRules[1].event"},
		{"bad event name", func(r *loyalty.EventRule) { r.Event = "place order" }, loyalty.CodeInvalidValue, "eventRules[1].event"},
		{"bad id", func(r *loyalty.EventRule) { r.ID = "a/b" }, loyalty.CodeInvalidValue, "eventRules[1].id"},
		{"zero points", func(r *loyalty.EventRule) { r.Points = 0 }, loyalty.CodeInvalidValue, "eventRules[1].points"},
		{"too many points", func(r *loyalty.EventRule) { r.Points = loyalty.MaxRulePoints + 1 }, loyalty.CodeInvalidValue, "eventRules[1].points"},
		{"negative cap", func(r *loyalty.EventRule) { r.MaxPerCustomer = -1 }, loyalty.CodeInvalidValue, "eventRules[1].maxPerCustomer"},
		{"negative daily cap", func(r *loyalty.EventRule) { r.MaxPerCustomerPerDay = -1 }, loyalty.CodeInvalidValue, "eventRules[1].maxPerCustomerPerDay"},
		{"no key", func(r *loyalty.EventRule) { r.Conditions[0].Key = "" }, loyalty.CodeMissingArguments, "eventRules[1].conditions[0].key"},
		{"no op", func(r *loyalty.EventRule) { r.Conditions[0].Op = "" }, loyalty.CodeMissingArguments, "eventRules[1].conditions[0].op"},
		{"unknown op", func(r *loyalty.EventRule) { r.Conditions[0].Op = "between" }, loyalty.CodeInvalidValue, "eventRules[1].conditions[0].op"},
		{"no value", func(r *loyalty.EventRule) { r.Conditions[0].Value = nil }, loyalty.CodeMissingArguments, "eventRules[1].conditions[0].value"},
		{"gte needs a number", func(r *loyalty.EventRule) { r.Conditions[0].Value = json.RawMessage(`"100"`) }, loyalty.CodeInvalidValue, "eventRules[1].conditions[0].value"},
		{"eq needs a scalar", func(r *loyalty.EventRule) { r.Conditions[0] = cond("a", "eq", `{"x":1}`) }, loyalty.CodeInvalidValue, "eventRules[1].conditions[0].value"},
		{"eq null", func(r *loyalty.EventRule) { r.Conditions[0] = cond("a", "eq", `null`) }, loyalty.CodeInvalidValue, "eventRules[1].conditions[0].value"},
		{"in needs a list", func(r *loyalty.EventRule) { r.Conditions[0] = cond("a", "in", `"x"`) }, loyalty.CodeInvalidValue, "eventRules[1].conditions[0].value"},
		{"in empty", func(r *loyalty.EventRule) { r.Conditions[0] = cond("a", "in", `[]`) }, loyalty.CodeInvalidValue, "eventRules[1].conditions[0].value"},
		{"in of objects", func(r *loyalty.EventRule) { r.Conditions[0] = cond("a", "in", `[1, {}]`) }, loyalty.CodeInvalidValue, "eventRules[1].conditions[0].value[1]"},
		{"too many conditions", func(r *loyalty.EventRule) {
			for range loyalty.MaxRuleConditions {
				r.Conditions = append(r.Conditions, r.Conditions[0])
			}
		}, loyalty.CodeInvalidValue, "eventRules[1].conditions"},
		{"same id as another rule", func(r *loyalty.EventRule) { r.Event = "signup" }, loyalty.CodeInvalidValue, "eventRules[1].id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := valid()
			c.change(&r)
			rules := []loyalty.EventRule{{Event: "signup", Points: 5}, r}
			e, ok := loyalty.AsError(loyalty.ValidateEventRules(rules))
			if !ok || e.Code != c.code || len(e.Fields) == 0 || e.Fields[0].Field != c.field {
				t.Fatalf("got %v, want code %d on %s", e, c.code, c.field)
			}
		})
	}
	t.Run("rules of one event with distinct ids", func(t *testing.T) {
		base, bonus := valid(), valid()
		bonus.ID = "purchase-bonus"
		if err := loyalty.ValidateEventRules([]loyalty.EventRule{base, bonus}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("too many rules", func(t *testing.T) {
		rules := make([]loyalty.EventRule, loyalty.MaxEventRules+1)
		e, ok := loyalty.AsError(loyalty.ValidateEventRules(rules))
		if !ok || e.Fields[0].Field != "eventRules" {
			t.Fatalf("got %v", e)
		}
	})
}
