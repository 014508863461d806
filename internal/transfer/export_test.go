package transfer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCellsReadBackAsTheirValues(t *testing.T) {
	cases := []struct {
		kind  kind
		value string
	}{
		{kindString, `"Ada"`}, {kindString, `" spaced "`}, {kindString, `"12"`},
		{kindNumber, `120.50`}, {kindNumber, `-1e-7`}, {kindNumber, `12345678901234567890.123456789`},
		{kindInteger, `9007199254740993`}, {kindBool, `false`},
		{kindList, `["vip","a b"]`}, {kindList, `[]`}, {kindList, `["with, comma"]`},
		{kindJSON, `[{"utm_source":"mail"}]`},
		{kindAny, `"gold"`}, {kindAny, `"12"`}, {kindAny, `""`}, {kindAny, `"true"`}, {kindAny, `" 12"`},
		{kindAny, `"\"quoted\""`}, {kindAny, `12.0`}, {kindAny, `{"a":[1,"x"]}`}, {kindAny, `true`},
	}
	for _, c := range cases {
		text, err := c.kind.cell(json.RawMessage(c.value))
		if err != nil {
			t.Fatalf("%s: %v", c.value, err)
		}
		back, err := c.kind.value(text)
		if err != nil || string(back) != c.value {
			t.Errorf("kind %d: %s became the cell %q, which reads back as %s (%v)", c.kind, c.value, text, back, err)
		}
	}
}

func TestExportedCustomersImportAsTheyWere(t *testing.T) {
	records := []string{
		`{"gameballId":7,"customerId":"c1","email":"ada@example.com","guest":false,"customerAttributes":{"displayName":"Ada",` +
			`"utms":[{"utm_source":"mail"}],"paymentMethods":["visa"],"totalSpent":120.50,"totalOrders":3,` +
			`"custom":{"tier":"gold","pets":2,"code":"007","zip":"12","empty":"","nested":{"a":[1]}},"tags":["vip","early bird"]},` +
			`"createdAt":"2026-01-01T09:00:00.000000Z","updatedAt":"2026-01-01T09:00:00.000000Z"}`,
		`{"gameballId":8,"customerId":"c2","guest":true,"customerAttributes":{"custom":{"late":"x, y"},"tags":[]},` +
			`"createdAt":"2026-01-01T09:00:00.000000Z","updatedAt":"2026-01-01T09:00:00.000000Z"}`,
	}
	tab := newTable(customers)
	var spool bytes.Buffer
	for _, r := range records {
		if err := tab.learn(json.RawMessage(r)); err != nil {
			t.Fatal(err)
		}
		spool.WriteString(r + "\n")
	}
	var out bytes.Buffer
	if err := tab.write(&spool, &out); err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(out.String(), "\n")
	if want := "customerId,email,guest,customerAttributes.displayName,customerAttributes.utms,customerAttributes.paymentMethods," +
		"customerAttributes.totalSpent,customerAttributes.totalOrders,tags,gameballId,createdAt,updatedAt," +
		"custom.tier,custom.pets,custom.code,custom.zip,custom.empty,custom.nested,custom.late"; header != want {
		t.Fatalf("header\n%s\nwant\n%s", header, want)
	}

	rows, _ := readAll(t, "customers", CSV, Mapping{}, out.String())
	for i, row := range rows {
		if row.Err != nil {
			t.Fatalf("row %d: %+v", i, row.Err)
		}
		var want map[string]any
		decode(t, records[i], &want)
		for _, k := range []string{"gameballId", "createdAt", "updatedAt"} {
			delete(want, k)
		}
		var got map[string]any
		decode(t, string(row.Item), &got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d imports as\n%s\nwant\n%s", i, row.Item, records[i])
		}
	}
}

func TestExportFlattensUnknownRecords(t *testing.T) {
	tab := newTable(&Type{})
	records := `{"customerId":"c1","points":150,"next":{"date":"2026-02-01","points":10},"tags":["a"],"note":null}` + "\n"
	if err := tab.learn(json.RawMessage(strings.TrimSpace(records))); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tab.write(strings.NewReader(records), &out); err != nil {
		t.Fatal(err)
	}
	if want := "customerId,points,next.date,next.points,tags,note\nc1,150,2026-02-01,10,\"[\"\"a\"\"]\",\n"; out.String() != want {
		t.Fatalf("CSV\n%s\nwant\n%s", out.String(), want)
	}
}

func decode(t *testing.T, text string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", text, err)
	}
}
