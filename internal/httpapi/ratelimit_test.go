package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/clock"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/openapi"
)

func TestClassOf(t *testing.T) {
	cases := []struct {
		method, path string
		want         rateClass
	}{
		{"GET", "/customers/{customerId}", classRead},
		{"GET", "/customers/{customerId}/balance", classRead},
		{"GET", "/configurations/program", classRead},
		{"GET", "/batch/{jobId}", classRead},
		{"GET", "/batches/{batchId}/status", classRead},
		{"POST", "/customers", classWrite},
		{"DELETE", "/customers/{customerId}", classWrite},
		{"PUT", "/configurations/program", classWrite},
		{"DELETE", "/batch/{jobId}", classWrite},
		{"POST", "/batches/{batchId}/stop", classWrite},
		{"GET", "/transactions", classWrite},
		{"POST", "/transactions/redeem", classWrite},
		{"GET", "/orders/{orderId}/transactions", classWrite},
		{"POST", "/orders", classWrite},
		{"POST", "/events", classEvents},
		{"GET", "/events/summary", classEvents},
		{"POST", "/batch/customers", classBatch},
		{"POST", "/batch/orders/transactions", classBatch},
	}
	for _, c := range cases {
		if got := classOf(openapi.Operation{Method: c.method, Path: c.path}); got != c.want {
			t.Errorf("%s %s: class %v, want %v", c.method, c.path, got, c.want)
		}
	}
}

// fixture is a limiter on a fake clock.
func fixture(t *testing.T, cfg RateLimits) (*limiter, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l, err := newLimiter(cfg, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

// wantTooMany asserts that err is the 4029 error and that the response asks to wait retryAfter seconds.
func wantTooMany(t *testing.T, err error, w *httptest.ResponseRecorder, retryAfter string) {
	t.Helper()
	e, ok := loyalty.AsError(err)
	if !ok || e.Code != loyalty.CodeTooManyRequests {
		t.Fatalf("got %v, want a 4029 error", err)
	}
	if got := w.Header().Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After %q, want %q", got, retryAfter)
	}
}

func TestTenantLimits(t *testing.T) {
	l, clk := fixture(t, RateLimits{Write: 2, Batch: 0.5})
	take := func(tenant int64, c rateClass) (*httptest.ResponseRecorder, error) {
		w := httptest.NewRecorder()
		return w, l.take(w, tenant, c)
	}
	for i := range 2 {
		w, err := take(1, classWrite)
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if got := w.Header().Get("X-RateLimit-Remaining"); got != fmt.Sprint(1-i) {
			t.Fatalf("write %d: X-RateLimit-Remaining %q", i, got)
		}
	}
	w, err := take(1, classWrite)
	wantTooMany(t, err, w, "1")
	h := w.Header()
	if h.Get("X-RateLimit-Limit") != "2" || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset") != "1" {
		t.Fatalf("headers of a refused request: %v", h)
	}

	t.Run("other tenants and classes have their own pools", func(t *testing.T) {
		if _, err := take(2, classWrite); err != nil {
			t.Fatal(err)
		}
		w, err := take(1, classRead)
		if err != nil || w.Header().Get("X-RateLimit-Limit") != "" {
			t.Fatalf("an unlimited class: %v, headers %v", err, w.Header())
		}
	})

	t.Run("the pool refills at its rate", func(t *testing.T) {
		clk.Advance(500 * time.Millisecond)
		if _, err := take(1, classWrite); err != nil {
			t.Fatal(err)
		}
		w, err := take(1, classWrite)
		wantTooMany(t, err, w, "1")
	})

	t.Run("a slow pool asks for a longer wait", func(t *testing.T) {
		if _, err := take(1, classBatch); err != nil {
			t.Fatal(err)
		}
		w, err := take(1, classBatch)
		wantTooMany(t, err, w, "2")
		if got := w.Header().Get("X-RateLimit-Reset"); got != "2" {
			t.Fatalf("X-RateLimit-Reset %q, want 2", got)
		}
	})
}

func TestFailedAuthentication(t *testing.T) {
	l, clk := fixture(t, RateLimits{AuthFailures: 3, AuthWindow: time.Minute})
	from := func(addr string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		return r
	}
	check := func(r *http.Request) (*httptest.ResponseRecorder, error) {
		w := httptest.NewRecorder()
		return w, l.checkSource(w, r)
	}
	bad := from("192.0.2.1:4000")
	for i := range 3 {
		if _, err := check(bad); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		l.authFailed(bad)
	}
	w, err := check(from("192.0.2.1:5000")) // another port of the same host
	wantTooMany(t, err, w, "20")

	if _, err := check(from("192.0.2.2:4000")); err != nil {
		t.Fatalf("another address is not slowed down: %v", err)
	}
	clk.Advance(20 * time.Second)
	if _, err := check(bad); err != nil {
		t.Fatalf("one attempt is allowed again after window/failures: %v", err)
	}

	t.Run("an IPv6 /64 is one source", func(t *testing.T) {
		for range 3 {
			l.authFailed(from("[2001:db8:0:1::1]:4000"))
		}
		w, err := check(from("[2001:db8:0:1::ffff]:4000"))
		wantTooMany(t, err, w, "20")
		if _, err := check(from("[2001:db8:0:2::1]:4000")); err != nil {
			t.Fatalf("another /64: %v", err)
		}
	})
}

func TestLimiterConfig(t *testing.T) {
	for _, cfg := range []RateLimits{{Read: -1}, {Write: math.NaN()}, {Batch: 1e20}, {AuthFailures: -1}, {AuthFailures: 3}} {
		if _, err := newLimiter(cfg, time.Now); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
	l, _ := fixture(t, RateLimits{})
	if l.auth != nil || l.classes != [numClasses]*buckets[int64]{} {
		t.Fatal("the zero RateLimits limit something")
	}
}

func TestBucketsForgetOnlyIdleKeys(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newBuckets[netip.Prefix](1, 1) // an empty bucket is full again after a second
	key := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
	}
	held := func() int { return len(b.cur) + len(b.old) }

	t.Run("a bucket in use is remembered across generations", func(t *testing.T) {
		// Taken every 0.9 s, a bucket of one token a second refuses every other request; had it
		// been forgotten, it would be full and allow every one.
		for i := range 10 {
			if got, want := b.get(key(0), clk.Now()).AllowN(clk.Now(), 1), i%2 == 0; got != want {
				t.Fatalf("request %d at %v: allowed %v, want %v", i, clk.Now(), got, want)
			}
			clk.Advance(900 * time.Millisecond)
		}
	})

	t.Run("idle buckets are dropped", func(t *testing.T) {
		for i := range 1000 {
			b.get(key(i), clk.Now())
		}
		clk.Advance(2 * time.Second)
		b.get(key(2000), clk.Now())
		clk.Advance(2 * time.Second)
		b.get(key(2001), clk.Now())
		if held() != 2 {
			t.Fatalf("%d keys held after all but two idled for two refill periods, want 2", held())
		}
	})

	t.Run("a flood of keys stays bounded", func(t *testing.T) {
		for i := range 3 * maxBucketKeys {
			b.get(key(i), clk.Now())
		}
		if held() > 2*maxBucketKeys {
			t.Fatalf("%d keys held, bound %d", held(), 2*maxBucketKeys)
		}
	})
}
