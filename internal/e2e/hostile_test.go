package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// hostileBodies are malformed or abusive request bodies, sent to every operation that takes one.
var hostileBodies = []string{
	``, `null`, `{`, `}`, `[]`, `[{}]`, `{}`, `"text"`, `42`, `true`, `{"a":1}{"b":2}`, "\x00\xff\xfe",
	`{"customerId":null}`, `{"customerId":{"$ne":""}}`, `{"customerId":["c"]}`, `{"customerId":1e400}`,
	`{"customerId":"c\u0000"}`, `{"customerId":"c","email":"nul\u0000"}`, `{"customerId":"` + strings.Repeat("x", 10_000) + `"}`,
	"{\"customerId\":\"c\",\"customerAttributes\":{\"custom\":{\"k\":\"\xff\"}}}", "{\"body\":[{\"customerId\":\"\xff\"}]}",
	`{"customerId":"c","points":9223372036854775808,"amount":1e308,"totalPaid":-0.000000001}`,
	`{"body":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
	`{"a":` + strings.Repeat(`{"a":`, 30) + `1` + strings.Repeat(`}`, 31),
	`{"body":[` + strings.TrimSuffix(strings.Repeat(`{"customerId":"c"},`, 1001), ",") + `]}`,
	`{"tags":"` + strings.Repeat("t,", 100) + `"}`,
}

// hostile checks one request against the property every endpoint must have: no input gives a
// 5xx, and a rejected input changes nothing in the database. state is the database before the
// request, and the returned string the database after it.
func hostile(t testing.TB, env *apptest.Env, tn apptest.Tenant, o operation, path, body, state string) string {
	t.Helper()
	resp, text := send(t, o.Method, env.URL+path, tn.Keys.APIKey, tn.Keys.SecretKey, body)
	if resp.StatusCode >= 500 {
		t.Fatalf("%v with body %.200q: %d %s", o, body, resp.StatusCode, text)
	}
	if resp.StatusCode < 300 {
		var created struct{ JobID int64 }
		if json.Unmarshal([]byte(text), &created) == nil && created.JobID != 0 && strings.HasPrefix(o.Path, "/batch/") {
			if _, err := tn.Client.WaitBatch(ctx, created.JobID, 10*time.Millisecond); err != nil {
				t.Fatalf("%v: the accepted batch %d: %v", o, created.JobID, err)
			}
		}
		return dumpState(t, env.App.DB)
	}
	after := dumpState(t, env.App.DB)
	if after != state {
		t.Fatalf("%v with body %.200q was rejected (%d %s) but changed the database:\n%s",
			o, body, resp.StatusCode, text, lineDiff(state, after))
	}
	return after
}

// bodyOperations returns the operations that take a body, with their paths filled with the ids of
// the tenant's own objects, and a valid body of each.
func bodyOperations(t testing.TB, env *apptest.Env, tn apptest.Tenant) (ops []operation, paths, valid []string) {
	t.Helper()
	all := apiOperations(t, env)
	own := createObjects(t, tn, all)
	for _, o := range all {
		if !o.Body {
			continue
		}
		path, ok := o.fill(own.ids)
		tmpl, known := requestBodies[o.String()]
		if !ok || !known {
			t.Fatalf("%v: no ids for its path or no body in requestBodies", o)
		}
		ops, paths, valid = append(ops, o), append(paths, path), append(valid, fillBody(tmpl, own.ids))
	}
	return ops, paths, valid
}

// mutate returns a damaged copy of a valid body: bytes flipped, cut, repeated, or a value swapped
// for a hostile one.
func mutate(r *rand.Rand, body string) string {
	values := []string{`null`, `-1`, `1e999`, `99999999999999999999`, `"` + strings.Repeat("é", 300) + `"`, `[]`, `{}`,
		`"\u0000"`, `true`, `0.0000000001`, `-9223372036854775809`, strings.Repeat("[", 25) + strings.Repeat("]", 25)}
	b := []byte(body)
	switch r.IntN(5) {
	case 0: // flip a byte
		i := r.IntN(len(b))
		b[i] ^= byte(1 + r.IntN(255))
	case 1: // cut
		b = b[:r.IntN(len(b))]
	case 2: // repeat a slice
		i, j := r.IntN(len(b)), r.IntN(len(b))
		if i > j {
			i, j = j, i
		}
		b = append(b[:j:j], b[i:]...)
	default: // swap the value after a colon
		colons := strings.Count(body, ":")
		if colons == 0 {
			return values[r.IntN(len(values))]
		}
		n := r.IntN(colons)
		i := strings.Index(body, ":")
		for ; n > 0; n-- {
			i += 1 + strings.Index(body[i+1:], ":")
		}
		end := strings.IndexAny(body[i+1:], ",}]")
		if end < 0 {
			end = len(body) - i - 1
		}
		return body[:i+1] + values[r.IntN(len(values))] + body[i+1+end:]
	}
	return string(b)
}

// TestHostileBodies sends every body-taking operation the hostile bodies and seeded mutations of
// a valid body, on both databases.
func TestHostileBodies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		tn := env.NewTenant(t, "t")
		ops, paths, valid := bodyOperations(t, env, tn)
		r := rand.New(rand.NewPCG(7, uint64(d)))
		state := dumpState(t, env.App.DB)
		for i, o := range ops {
			for _, body := range hostileBodies {
				state = hostile(t, env, tn, o, paths[i], body, state)
			}
			// A damaged batch is mostly still a valid envelope, accepted, and waited for: fewer of
			// those, as its items are decoded like the single endpoints' bodies, which get more.
			mutations := 6
			if strings.HasPrefix(o.Path, "/batch/") {
				mutations = 1
			}
			for range mutations {
				state = hostile(t, env, tn, o, paths[i], mutate(r, valid[i]), state)
			}
		}
	})
}

// FuzzHostileBodies searches for bodies that break the property of hostile, on SQLite: run it with
// go test -fuzz=FuzzHostileBodies ./internal/e2e. op picks the operation (modulo their number);
// the seeds pair each hostile body with one operation, and TestHostileBodies sends every one to
// every operation on both databases.
func FuzzHostileBodies(f *testing.F) {
	env := apptest.Start(f, store.SQLite)
	tn := env.NewTenant(f, "t")
	ops, paths, _ := bodyOperations(f, env, tn)
	for i, body := range hostileBodies {
		f.Add(uint8(i), []byte(body))
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		i := int(op) % len(ops)
		hostile(t, env, tn, ops[i], paths[i], string(body), dumpState(t, env.App.DB))
	})
}
