package transfer

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// readAll reads every row of a file.
func readAll(t *testing.T, typ string, f Format, m Mapping, input string) ([]Row, source) {
	t.Helper()
	ty, err := TypeNamed(typ)
	if err != nil {
		t.Fatal(err)
	}
	src, err := newSource(strings.NewReader(input), f, ty, m)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var rows []Row
	for {
		row, err := src.next()
		if errors.Is(err, io.EOF) {
			return rows, src
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

func TestCSVRowsBecomeItems(t *testing.T) {
	cases := []struct {
		name, typ, header, row string
		want                   string // the item, or the failure's message
	}{
		{"dotted paths, shorthands, exact numbers", "customers",
			"customerId,customerAttributes.displayName,custom.tier,custom.visits,customerAttributes.totalSpent,tags,guest",
			`c1,Ada,gold,12,120.50,"vip, newsletter",TRUE`,
			`{"customerId":"c1","customerAttributes":{"displayName":"Ada","custom":{"tier":"gold","visits":12},"totalSpent":120.50,"tags":["vip","newsletter"]},"guest":true}`},
		{"numbers never pass through a float", "customers",
			"customerId,customerAttributes.totalSpent,customerAttributes.totalOrders",
			"c1,12345678901234567890.123456789,9007199254740993",
			`{"customerId":"c1","customerAttributes":{"totalSpent":12345678901234567890.123456789,"totalOrders":9007199254740993}}`},
		{"empty cells leave fields out", "customers",
			"customerId,email,customerAttributes.city,custom.tier", "c1,,,",
			`{"customerId":"c1"}`},
		{"free values: JSON when the cell is JSON, else text", "customers",
			"customerId,custom.a,custom.b,custom.c,custom.d,custom.e,custom.f",
			`c1,007,"""007""", 12,true,"{""x"": [1, 2]}",<b>&`,
			`{"customerId":"c1","customerAttributes":{"custom":{"a":"007","b":"007","c":" 12","d":true,"e":{"x":[1,2]},"f":"<b>&"}}}`},
		{"string fields keep their text", "customers", "customerId,mobile", "00123, +20 100",
			`{"customerId":"00123","mobile":" +20 100"}`},
		{"JSON cells and lists", "customers",
			"customerId,customerAttributes.utms,customerAttributes.paymentMethods",
			`c1,"[{""utm_source"":""mail""}]","[""visa"",""cash""]"`,
			`{"customerId":"c1","customerAttributes":{"utms":[{"utm_source":"mail"}],"paymentMethods":["visa","cash"]}}`},
		{"orders", "orders",
			"customerId,orderId,orderDate,totalPaid,redemption.pointsHoldReference,extra.gift,cashbackConfigurations.returnWindow",
			"c1,o1,2026-01-02T10:00:00Z,19.99,h-1,yes,14",
			`{"customerId":"c1","orderId":"o1","orderDate":"2026-01-02T10:00:00Z","totalPaid":19.99,"redemption":{"pointsHoldReference":"h-1"},"extra":{"gift":"yes"},"cashbackConfigurations":{"returnWindow":14}}`},
		{"adjustments", "adjustments", "customerId,points,reason", "c1,-50,correction",
			`{"customerId":"c1","points":-50,"reason":"correction"}`},
		{"events", "events", "customerId,event,metadata.rating,metadata.product", "c1,review,5,p-1",
			`{"customerId":"c1","events":{"review":{"rating":5,"product":"p-1"}}}`},
		{"an event without metadata", "events", "customerId,event", "c1,login",
			`{"customerId":"c1","events":{"login":{}}}`},

		{"a bad number", "customers", "customerId,customerAttributes.totalSpent", `c1,"12,5"`,
			`customerAttributes.totalSpent: must be a number such as 19.99, not "12,5"`},
		{"a bad integer", "adjustments", "customerId,points", "c1,1.5", `points: must be a whole number, not "1.5"`},
		{"a bad boolean", "customers", "customerId,guest", "c1,yes", `guest: must be true or false, not "yes"`},
		{"a bad JSON cell", "customers", "customerId,customerAttributes.devices", "c1,[x", `customerAttributes.devices: must be JSON`},
		{"an event row without the event", "events", "customerId,event,metadata.x", "c1,,1", `event: the column is required`},
		{"a value and a field inside it", "customers", "customerId,custom.a,custom.a.b", "c1,1,2",
			`customerAttributes.custom.a.b: a column sets a to a value and another one sets a field inside it`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, _ := readAll(t, c.typ, CSV, Mapping{}, c.header+"\n"+c.row+"\n")
			if len(rows) != 1 || rows[0].Line != 2 {
				t.Fatalf("rows: %+v", rows)
			}
			got := string(rows[0].Item)
			if rows[0].Err != nil {
				got = rows[0].Err.Message
				if !strings.HasPrefix(got, c.want) {
					t.Fatalf("failure %q, want it to start with %q", got, c.want)
				}
				return
			}
			if got != c.want {
				t.Fatalf("item\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestCSVLayout(t *testing.T) {
	t.Run("unknown and reserved columns", func(t *testing.T) {
		rows, src := readAll(t, "customers", CSV, Mapping{},
			"\uFEFFcustomerId,nickname,_line,_code,_message,gameballId,createdAt\nc1,Bob,7,3003,bad,12,2026-01-01T00:00:00Z\n")
		if string(rows[0].Item) != `{"customerId":"c1"}` {
			t.Fatalf("item %s", rows[0].Item)
		}
		if w := src.warnings(); len(w) != 1 || !strings.Contains(w[0], "nickname") || strings.Contains(w[0], "_line") {
			t.Fatalf("warnings %q", w)
		}
	})
	t.Run("map and set", func(t *testing.T) {
		m := Mapping{Rename: map[string]string{"customerId": "Member ID", "points": "Balance"},
			Set: map[string]string{"reason": "opening balance", "transactionTime": "2026-01-01T00:00:00Z"}}
		rows, _ := readAll(t, "adjustments", CSV, m, "Member ID,Balance,reason\nm1,150,\nm2,20,bonus\n")
		want := []string{
			`{"customerId":"m1","points":150,"reason":"opening balance","transactionTime":"2026-01-01T00:00:00Z"}`,
			`{"customerId":"m2","points":20,"reason":"bonus","transactionTime":"2026-01-01T00:00:00Z"}`,
		}
		for i, w := range want {
			if string(rows[i].Item) != w {
				t.Errorf("row %d: %s, want %s", i, rows[i].Item, w)
			}
		}
	})
	errs := []struct {
		name, typ, header string
		m                 Mapping
		want              string
	}{
		{"two columns for one field", "customers", "custom.x,customerAttributes.custom.x", Mapping{}, "both hold customerAttributes.custom.x"},
		{"map from a missing column", "customers", "id", Mapping{Rename: map[string]string{"customerId": "Member"}}, `no column "Member"`},
		{"set an unknown field", "adjustments", "customerId", Mapping{Set: map[string]string{"note": "x"}}, `no field "note"`},
		{"map an unknown field", "adjustments", "Note", Mapping{Rename: map[string]string{"note": "Note"}}, `no field "note"`},
		{"set a bad value", "adjustments", "customerId", Mapping{Set: map[string]string{"points": "many"}}, "--set points: must be a whole number"},
	}
	for _, c := range errs {
		t.Run(c.name, func(t *testing.T) {
			ty, _ := TypeNamed(c.typ)
			_, err := newSource(strings.NewReader(c.header+"\n"), CSV, ty, c.m)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestCSVUnreadableRowsKeepTheirLines(t *testing.T) {
	input := "customerId,points\nc1,1\nc2,2,extra\nc3,\"x\"y\nc4,4\n\nc5,\"multi\nline\"\nc6,6\n"
	rows, _ := readAll(t, "adjustments", CSV, Mapping{}, input)
	type want struct {
		line int
		ok   bool
	}
	wants := []want{{2, true}, {3, false}, {4, false}, {5, true}, {7, false}, {9, true}}
	if len(rows) != len(wants) {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	for i, w := range wants {
		if rows[i].Line != w.line || (rows[i].Err == nil) != w.ok {
			t.Errorf("row %d: line %d, err %+v; want line %d ok=%v", i, rows[i].Line, rows[i].Err, w.line, w.ok)
		}
	}
}

func TestJSONLRowsBecomeItems(t *testing.T) {
	input := "{\"customerId\":\"c1\",\"orderId\":\"o1\",\"totalPaid\":19.990,\"_line\":3,\"lineItems\":[{\"productId\":\"p\",\"price\":1e2}]}\r\n" +
		"\n" +
		"   \n" +
		"not json\n" +
		"[1,2]\n" +
		"{\"customerId\":\"c2\",\"orderId\":\"o2\",\"note\":\"<&>\"}"
	rows, _ := readAll(t, "orders", JSONL, Mapping{}, input)
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	if got := string(rows[0].Item); got != `{"customerId":"c1","lineItems":[{"productId":"p","price":1e2}],"orderId":"o1","totalPaid":19.990}` || rows[0].Line != 1 {
		t.Errorf("line %d: %s", rows[0].Line, got)
	}
	for _, i := range []int{1, 2} {
		if rows[i].Err == nil || rows[i].Err.Code != 3016 {
			t.Errorf("row %d (line %d): %+v, want a 3016 failure", i, rows[i].Line, rows[i].Err)
		}
	}
	if rows[1].Line != 4 || rows[2].Line != 5 || rows[3].Line != 6 {
		t.Errorf("lines %d %d %d, want 4 5 6", rows[1].Line, rows[2].Line, rows[3].Line)
	}
	if got := string(rows[3].Item); got != `{"customerId":"c2","note":"<&>","orderId":"o2"}` {
		t.Errorf("last item %s", got)
	}

	t.Run("map and set", func(t *testing.T) {
		m := Mapping{Rename: map[string]string{"points": "availablePointsBalance"}, Set: map[string]string{"reason": "opening"}}
		rows, _ := readAll(t, "adjustments", JSONL, m,
			`{"customerId":"c1","availablePointsBalance":150,"pendingPoints":0}`+"\n"+
				`{"customerId":"c2","availablePointsBalance":1,"points":2}`+"\n")
		if got := string(rows[0].Item); got != `{"customerId":"c1","pendingPoints":0,"points":150,"reason":"opening"}` {
			t.Errorf("item %s", got)
		}
		if rows[1].Err == nil || !strings.Contains(rows[1].Err.Message, "both") {
			t.Errorf("second row: %+v", rows[1].Err)
		}
	})
	t.Run("only top-level fields", func(t *testing.T) {
		ty, _ := TypeNamed("customers")
		_, err := newSource(strings.NewReader(""), JSONL, ty, Mapping{Set: map[string]string{"custom.tier": "gold"}})
		if err == nil || !strings.Contains(err.Error(), "top-level") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestCountRows(t *testing.T) {
	for _, c := range []struct {
		f     Format
		input string
		want  int
	}{
		{CSV, "a,b\n1,2\n3,\"x\ny\"\n5,\"bad\"x\n", 3},
		{CSV, "a,b\n", 0},
		{JSONL, "{}\n\n{}\n  \n{}", 3},
	} {
		n, err := CountRows(strings.NewReader(c.input), c.f)
		if err != nil || n != c.want {
			t.Errorf("%s %q: %d %v, want %d", c.f, c.input, n, err, c.want)
		}
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"a.csv": CSV, "b.JSONL": JSONL, "dir.x/c.ndjson": JSONL, "d": "", "e.txt": ""} {
		got, err := FormatOf(name)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q %v, want %q", name, got, err, want)
		}
	}
}
