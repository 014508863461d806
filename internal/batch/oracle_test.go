package batch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tally-loyalty/tally/internal/bench/workload"
	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
)

// oracleParseBody is how ParseBody read a request before it read it in one pass: json.Valid,
// utf8.Valid, json.Unmarshal of the envelope and of its body, json.Compact of each item. ParseBody
// must answer every input exactly as it does.
func oracleParseBody(data []byte) ([]json.RawMessage, error) {
	if !json.Valid(data) {
		return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "the request body is not valid JSON")
	}
	if !utf8.Valid(data) {
		return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "the request body is not valid UTF-8")
	}
	var env struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, loyalty.Errorf(loyalty.CodeMissingArguments, `the request body must be an object {"body": [...]}`)
	}
	if len(env.Body) == 0 || bytes.Equal(env.Body, []byte("null")) {
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "is required")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(env.Body, &items); err != nil {
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "must be an array of items")
	}
	if len(items) == 0 {
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "must hold at least one item")
	}
	if len(items) > MaxItems {
		return nil, loyalty.FieldErrorf(loyalty.CodeLimitExceeded, "body", "must hold at most %d items, not %d", MaxItems, len(items))
	}
	for i, item := range items {
		var buf bytes.Buffer
		if err := json.Compact(&buf, item); err != nil {
			return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "body[%d] is not valid JSON", i)
		}
		items[i] = buf.Bytes()
	}
	return items, nil
}

// oracleSuccessResult is how successResult built a result before it spliced the members: marshal,
// unmarshal into a map, marshal again with the first keys first. successResult must write the same
// bytes.
func oracleSuccessResult(index int, id, message string, res any) ([]byte, error) {
	raw, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode result of item %d: %w", index, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		fields = map[string]json.RawMessage{"result": raw}
	}
	fields["index"] = mustJSON(index)
	if _, ok := fields["customerId"]; !ok {
		fields["customerId"] = mustJSON(id)
	}
	if _, ok := fields["message"]; !ok {
		fields["message"] = mustJSON(message)
	}
	first := []string{"index", "customerId", "message"}
	order := slices.Clone(first)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(first, k) {
			order = append(order, k)
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range order {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(mustJSON(k))
		b.WriteByte(':')
		b.Write(fields[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// oracleKeysOf is how keysOf read an item before it read it in one pass: json.Unmarshal into raw
// fields, then each field into a string. keysOf must answer every item ParseBody accepts exactly as
// it does.
func oracleKeysOf(item json.RawMessage) (itemKeys, string) {
	if len(item) > 0 && item[0] == '"' {
		var id string
		if json.Unmarshal(item, &id) != nil {
			return itemKeys{}, ""
		}
		return itemKeys{}, id
	}
	var obj struct {
		CustomerID    json.RawMessage `json:"customerId"`
		TransactionID json.RawMessage `json:"transactionId"`
		OrderID       json.RawMessage `json:"orderId"`
	}
	if json.Unmarshal(item, &obj) != nil {
		return itemKeys{}, ""
	}
	str := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	}
	valid := func(field string, raw json.RawMessage) string {
		if s := str(raw); loyalty.CheckID(field, s) == nil {
			return s
		}
		return ""
	}
	k := itemKeys{CustomerID: valid("customerId", obj.CustomerID), TransactionID: valid("transactionId", obj.TransactionID),
		OrderID: valid("orderId", obj.OrderID)}
	return k, str(obj.CustomerID)
}

// keysInputs are items at the edges of what keysOf reads: names in other cases, with escapes, or
// repeated; values that are not strings, have escapes or are not valid ids; items that are not
// objects.
func keysInputs() []string {
	return []string{
		`{}`, `[]`, `null`, `true`, `7`, `"o-1"`, `""`, `"o\u002d1"`, `"\ud800"`, `[{"customerId":"c1"}]`,
		`{"customerId":"c1","transactionId":"t1","orderId":"o1"}`,
		`{"CUSTOMERID":"c1","TransactionId":"t1","orderid":"o1"}`,
		`{"customer\u0049d":"c1","\u0074ransactionId":"t\u0031"}`,
		`{"cu\u017ftomerId":"c1"}`, `{"cuſtomerId":"c1"}`, `{"customerId ":"c1"}`, `{"customer":"c1"}`,
		`{"customerId":"c1","customerId":"c2"}`, `{"customerId":"c1","CustomerId":7}`, `{"customerId":7,"customerId":"c2"}`,
		`{"customerId":null}`, `{"customerId":"c1","customerId":null}`, `{"customerId":{"a":"b"}}`, `{"customerId":["c1"]}`,
		`{"customerId":true}`, `{"customerId":1e3}`, `{"customerId":""}`, `{"customerId":" "}`, `{"customerId":"c 1"}`,
		`{"customerId":"\u0000"}`, `{"customerId":"é日本😀"}`, `{"customerId":"` + strings.Repeat("c", 200) + `"}`,
		`{"customerId":"` + strings.Repeat("c", 201) + `"}`, `{"customerId":"a\"b"}`, `{"customerId":"a\\b"}`,
		`{"customerId":"\ud83d\ude00"}`, `{"customerId":"\udc00x"}`, `{"orderId":"o-1","transactionId":7}`,
		`{"a":{"customerId":"inner"},"customerId":"outer","b":[{"orderId":"x"}]}`,
		`{"x":"\"customerId\":\"c9\"","customerId":"c1"}`,
	}
}

// TestKeysOfMatchesOracle holds keysOf to the answers of the reading it replaced, for items at the
// edges and every benchmark request's items, each as ParseBody stores it.
func TestKeysOfMatchesOracle(t *testing.T) {
	envelopes := []string{`{"body":[` + strings.Join(keysInputs(), ",") + `]}`}
	for _, typ := range Types(engine.New(nil)) {
		envelopes = append(envelopes, workloadEnvelope(t, typ.Name))
	}
	for _, env := range envelopes {
		sameKeys(t, []byte(env))
	}
}

// FuzzKeysOfMatchesOracle looks for an item that keysOf and the reading it replaced answer
// differently.
func FuzzKeysOfMatchesOracle(f *testing.F) {
	for _, in := range keysInputs() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, item []byte) { sameKeys(t, []byte(`{"body":[`+string(item)+`]}`)) })
}

// sameKeys compares keysOf with the oracle on each item the envelope holds, when ParseBody accepts it.
func sameKeys(t *testing.T, envelope []byte) {
	t.Helper()
	items, err := ParseBody(envelope)
	if err != nil {
		return
	}
	for _, item := range items {
		gotKeys, gotID := keysOf(item)
		wantKeys, wantID := oracleKeysOf(item)
		if gotKeys != wantKeys || gotID != wantID {
			t.Fatalf("%.200q: keys %+v, id %q; want %+v, %q", item, gotKeys, gotID, wantKeys, wantID)
		}
	}
}

// parseBodyInputs are envelopes at the edges of what ParseBody accepts.
func parseBodyInputs() []string {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	return []string{
		``, ` `, `{`, `}`, `{}`, `[]`, `[{}]`, `null`, ` null `, `true`, `false`, `0`, `-1.5e+3`, `"body"`,
		`nul`, `nullx`, `{"body":[1]}x`, `{"body":[1]} {}`, `{"body":[1]}` + "\n\t\r ",
		"\ufeff" + `{"body":[1]}`, `{"body":[1],}`, `{"body":[1,]}`, `{"body":[,1]}`, `{"body" [1]}`,
		`{'body':[1]}`, `{body:[1]}`, `{"body":[01]}`, `{"body":[1.]}`, `{"body":[.5]}`, `{"body":[-]}`,
		`{"body":[1e]}`, `{"body":[1E+]}`, `{"body":[-0.0e-0]}`, `{"body":[tru]}`, `{"body":[True]}`,
		`{"body":["\x"]}`, `{"body":["\u12"]}`, `{"body":["\u12G4"]}`, `{"body":["\ud800"]}`,
		`{"body":["` + "\t" + `"]}`, `{"body":["` + "\x7f" + `"]}`, `{"body":["` + "\x00" + `"]}`,
		`{"body":["` + "\xff" + `"]}`, `{"body":[1],"x":"` + "\xc3" + `"}`, `{"x` + "\xff" + `":1,"body":[1]}`,
		`["` + "\xed\xa0\x80" + `"]`, `{"body":["` + "\xf4\x90\x80\x80" + `"]}`, `{"body":["é", "日本", "😀"]}`,
		`{"body":null}`, `{"body":[]}`, `{"body":[ ]}`, `{"body":{}}`, `{"body":"x"}`, `{"body":0}`, `{"body":true}`,
		`{"items":[1]}`, `{"Body":[1]}`, `{"BODY":[1]}`, `{"bOdY":[1]}`, `{"b\u006fdy":[1]}`, `{"\u0042ODY":[1]}`,
		`{"body ":[1]}`, `{"bodyx":[1]}`, `{"bod":[1]}`, `{"ｂody":[1]}`,
		`{"body":[1],"body":null}`, `{"body":null,"body":[2]}`, `{"body":[1],"Body":[2,3]}`, `{"body":[1],"body":{}}`,
		`{"body":[1],"body":[]}`, `{"x":{"body":[1]}}`, `{"x":[{"body":5}],"body":[{"body":[]}]}`,
		"{ \"body\" : [ { \"customerId\" : \"c 1\" , \"a\" : [ 1 , { } , [ ] ] } ,\n\"o-1\" , 7 , null , true ] }",
		`{"body":[{"s":"a \" \\ \/ \b \f \n \r \t \u00e9 \u2028 <>&"}]}`,
		`{"body":[` + deep(9998) + `]}`, `{"body":[` + deep(9999) + `]}`, deep(10000), deep(10001),
		`{"body":[` + strings.TrimSuffix(strings.Repeat(`{},`, MaxItems), ",") + `]}`,
		`{"body":[` + strings.TrimSuffix(strings.Repeat(`{},`, MaxItems+1), ",") + `]}`,
		`{"body":[` + strings.TrimSuffix(strings.Repeat(`{},`, MaxItems+1), ",") + `],"x":"` + "\xff" + `"}`,
		`{"body":[` + strings.TrimSuffix(strings.Repeat(`{},`, MaxItems+1), ",") + `],"body":[1]}`,
	}
}

// TestParseBodyMatchesOracle holds ParseBody to the answers of the reading it replaced: the same
// items, or the same error, for edge cases, the fuzz corpus and the benchmarks' requests.
func TestParseBodyMatchesOracle(t *testing.T) {
	inputs := parseBodyInputs()
	corpus, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParseBody", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range corpus {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, corpusValue(t, data))
	}
	for _, typ := range Types(engine.New(nil)) {
		inputs = append(inputs, workloadEnvelope(t, typ.Name))
	}
	for _, in := range inputs {
		sameParse(t, []byte(in))
	}
}

// FuzzParseBodyMatchesOracle looks for a request that ParseBody and the reading it replaced answer
// differently.
func FuzzParseBodyMatchesOracle(f *testing.F) {
	for _, in := range parseBodyInputs() {
		if len(in) < 1000 { // the long ones only slow the fuzzer down
			f.Add([]byte(in))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameParse(t, data) })
}

func sameParse(t *testing.T, data []byte) {
	t.Helper()
	got, gotErr := ParseBody(data)
	want, wantErr := oracleParseBody(data)
	if g, w := fmt.Sprintf("%#v", gotErr), fmt.Sprintf("%#v", wantErr); g != w {
		t.Fatalf("%.200q:\nerror %s\nwant  %s", data, g, w)
	}
	if len(got) != len(want) {
		t.Fatalf("%.200q: %d items, want %d", data, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%.200q: item %d is %s, want %s", data, i, got[i], want[i])
		}
	}
	if gotErr == nil && bodyHash("t", got) != bodyHash("t", want) {
		t.Fatalf("%.200q: the body hash changed", data)
	}
}

// corpusValue returns the []byte a file of the fuzz corpus holds.
func corpusValue(t *testing.T, file []byte) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(file)), "\n")
	v := lines[len(lines)-1]
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		t.Fatalf("unexpected corpus line %q", v)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(v, "[]byte("), ")"))
	if err != nil {
		t.Fatalf("corpus line %q: %v", v, err)
	}
	return s
}

// resultMarshaler is a result whose JSON is whatever it says, as a custom MarshalJSON may write.
type resultMarshaler string

func (r resultMarshaler) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// oddResults are results at the edges of what successResult splices: not objects, names that
// need escapes, names it sets itself, repeated names.
func oddResults() []any {
	return []any{
		nil, 7, "s", true, []int{1, 2}, struct{}{}, map[string]any{},
		map[string]any{"index": 99, "customerId": "mine", "message": "own", "z": 1, "a": []any{1, "x"}},
		map[string]any{"a<b": 1, "é": "x", "\u2028": 2, "k\"q": 3, "\xff": 4, "": 5, "Z": 6, "_": 7},
		map[string]string{"customerId": "<c&>"},
		resultMarshaler(`{"b":1,"a":2,"b":3,"index":4}`),
		resultMarshaler(`{"b\u0061":1,"ba":2,"c":{"x":[1,{"y":"}"}]}}`),
		resultMarshaler(`{"x` + "\xff" + `":1}`),
		resultMarshaler(` {"a" : 1 } `),
		resultMarshaler(`null`),
		resultMarshaler(`"<>"`),
		struct {
			Message string `json:"message,omitempty"`
			N       int    `json:"n"`
		}{N: 1},
	}
}

// filledResults are a result of each batch type, by type name, with its members set.
func filledResults() map[string]any {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return map[string]any{
		"customers": engine.CustomerResult{GameballID: 1, CustomerID: "c1", Created: true},
		"orders": engine.OrderResult{CustomerID: "c1", OrderID: "o-1", GameballTransactionID: 3, RewardedPoints: 10,
			Credited: engine.Credited{Status: "Pending", AvailableAt: at, ExpiresAt: &at}},
		"orders/transactions": orderTransactions{OrderID: "o-1", OrderTransactionsResult: engine.OrderTransactionsResult{
			Transactions: []engine.OrderTransaction{{TransactionID: "o-1", EquivalentPoints: 10, Direction: "+"}}, Count: 1}},
		"balance-inquiry": engine.BalanceResult{TotalPointsBalance: 10, TotalPointsValue: "1", Currency: "EUR",
			PointsName: "pts", NextExpiringPointsDate: &at},
		"balance-adjustment": engine.ManualResult{CustomerID: "c1", TransactionID: "t", Points: -5, Amount: "-0.5"},
		"cashback":           engine.CashbackResult{CustomerID: "c1", TransactionID: "t", RewardAmount: "1.25", RewardEquivalentPoints: 12},
		"redeem":             engine.RedeemResult{CustomerID: "c1", GameballTransactionID: "g", RedeemAmount: "2", Reason: "because"},
		"events": engine.EventsResult{Success: true, Message: "Events tracked", CustomerID: "c1", Points: 3,
			Events: []loyalty.Event{{}}},
	}
}

// engineResults are the zero value and a filled-in value of every batch type's result.
func engineResults(t testing.TB) []any {
	filled := filledResults()
	var results []any
	for _, typ := range Types(engine.New(nil)) {
		res, ok := filled[typ.Name]
		if !ok {
			t.Fatalf("no result of batch type %q to compare", typ.Name)
		}
		results = append(results, res, reflect.Zero(reflect.TypeOf(res)).Interface())
	}
	return results
}

// workloadEnvelope is a 1,000-item request of the named type as the benchmarks send it.
func workloadEnvelope(t testing.TB, name string) string {
	t.Helper()
	typ, ok := workload.Lookup(name)
	if !ok {
		return `{"body":["` + name + `"]}`
	}
	g := workload.NewSource("t-", 100, time.Now()).Gen(1)
	items := make([]workload.Item, MaxItems)
	for i := range items {
		items[i] = g.Item(typ)
	}
	return string(workload.Envelope(items))
}

// TestSuccessResultMatchesOracle holds successResult to the bytes of the algorithm it replaced, for
// every batch type's result and for results at the edges. The types' results as they really come
// are compared in fixture.single, which testTypesBehaveLikeSingleCalls runs for each.
func TestSuccessResultMatchesOracle(t *testing.T) {
	for i, res := range append(engineResults(t), oddResults()...) {
		for _, id := range []string{"c1", "", "<&>\u2028\xff"} {
			sameResult(t, i, id, "Saved <ok>", res)
		}
	}
}

func sameResult(t *testing.T, index int, id, message string, res any) []byte {
	t.Helper()
	got, gotErr := successResult(index, id, message, res)
	want, wantErr := oracleSuccessResult(index, id, message, res)
	if gotErr != nil || wantErr != nil {
		t.Fatalf("%#v: %v, want %v", res, gotErr, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%#v:\ngot  %s\nwant %s", res, got, want)
	}
	return got
}

// BenchmarkSuccessResult builds the result of a succeeded item of each batch type.
func BenchmarkSuccessResult(b *testing.B) {
	filled := filledResults()
	for _, name := range slices.Sorted(maps.Keys(filled)) {
		b.Run(strings.ReplaceAll(name, "/", "-"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := successResult(7, "c1", "Saved", filled[name]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeysOf reads the keys of a 1,000-item request of each benchmark type, with keysOf and
// with the reading it replaced.
func BenchmarkKeysOf(b *testing.B) {
	for _, typ := range workload.Types {
		items, err := ParseBody([]byte(workloadEnvelope(b, typ.Name)))
		if err != nil {
			b.Fatal(err)
		}
		for _, read := range []struct {
			name string
			keys func(json.RawMessage) (itemKeys, string)
		}{{"scan", keysOf}, {"oracle", oracleKeysOf}} {
			b.Run(typ.Name+"/"+read.name, func(b *testing.B) {
				for b.Loop() {
					for _, item := range items {
						read.keys(item)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/item")
			})
		}
	}
}
