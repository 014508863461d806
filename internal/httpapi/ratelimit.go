package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/openapi"
)

// RateLimits are the request rate limits. Each rate is requests per second per tenant and resource
// class, refilled continuously, with a burst of one second's worth; zero turns that limit off.
// AuthFailures failed authentications per AuthWindow from one source (an IPv4 address or an IPv6
// /64) are tolerated; past them the source is answered 429 before its keys are looked at, and it
// regains one attempt every AuthWindow/AuthFailures.
type RateLimits struct {
	Read   float64 // reads of customers, balances, configuration, batch status
	Write  float64 // writes, and every route of transactions and orders (reads included)
	Events float64 // sending and reading events
	Batch  float64 // batch submissions

	AuthFailures int
	AuthWindow   time.Duration
}

// DefaultRateLimits returns the limits `tally serve` applies unless told otherwise, in the spirit of
// the reference API's per-resource limits.
func DefaultRateLimits() RateLimits {
	return RateLimits{Read: 100, Write: 30, Events: 100, Batch: 5, AuthFailures: 20, AuthWindow: time.Minute}
}

// rateClass is the pool of requests a route draws from.
type rateClass int

const (
	classRead rateClass = iota
	classWrite
	classEvents
	classBatch
	numClasses
)

func (c rateClass) String() string {
	return [...]string{"read", "write", "events", "batch"}[c]
}

// classOf is the one place that decides which pool a route draws from, from its method and path.
// Following the reference API, transactions and orders share the write pool even when read, and
// events have their own pool; submitting a batch draws from a pool of its own, while reading or
// stopping one is an ordinary read or write.
func classOf(op openapi.Operation) rateClass {
	switch {
	case op.Method == http.MethodPost && strings.HasPrefix(op.Path, "/batch/"):
		return classBatch
	case strings.HasPrefix(op.Path, "/events"):
		return classEvents
	case strings.HasPrefix(op.Path, "/transactions"), strings.HasPrefix(op.Path, "/orders"):
		return classWrite
	case op.Method == http.MethodGet:
		return classRead
	}
	return classWrite
}

// maxRate is the largest rate limit accepted: past it a limit means nothing, and its burst would
// overflow.
const maxRate = 1_000_000

// maxBucketKeys bounds the keys (tenants, or sources of failed authentication) one set of buckets
// tracks per generation, so that a flood of new sources cannot grow memory without limit.
const maxBucketKeys = 1 << 16

// limiter applies RateLimits. Buckets are kept per tenant and class, and per source for failed
// authentication.
type limiter struct {
	now     func() time.Time
	classes [numClasses]*buckets[int64] // nil where the limit is off
	auth    *buckets[netip.Prefix]      // nil when failed authentication is not limited
}

func newLimiter(cfg RateLimits, now func() time.Time) (*limiter, error) {
	l := &limiter{now: now}
	for c, perSecond := range [numClasses]float64{cfg.Read, cfg.Write, cfg.Events, cfg.Batch} {
		if !(perSecond >= 0 && perSecond <= maxRate) { // NaN fails both
			return nil, fmt.Errorf("httpapi: the %s rate limit must be 0 (none) to %d requests per second, not %v", rateClass(c), maxRate, perSecond)
		}
		if perSecond > 0 {
			l.classes[c] = newBuckets[int64](rate.Limit(perSecond), int(math.Ceil(perSecond)))
		}
	}
	switch {
	case cfg.AuthFailures < 0:
		return nil, fmt.Errorf("httpapi: the failed-authentication limit must not be negative, not %d", cfg.AuthFailures)
	case cfg.AuthFailures > 0 && cfg.AuthWindow <= 0:
		return nil, fmt.Errorf("httpapi: the failed-authentication window must be positive, not %v", cfg.AuthWindow)
	case cfg.AuthFailures > 0:
		l.auth = newBuckets[netip.Prefix](rate.Limit(float64(cfg.AuthFailures)/cfg.AuthWindow.Seconds()), cfg.AuthFailures)
	}
	return l, nil
}

// take spends one request of the tenant's pool for class, sets the X-RateLimit headers and returns
// a 4029 error, with Retry-After set, when the pool is empty.
func (l *limiter) take(w http.ResponseWriter, tenantID int64, class rateClass) error {
	b := l.classes[class]
	if b == nil {
		return nil
	}
	now := l.now()
	lim := b.get(tenantID, now)
	allowed := lim.AllowN(now, 1)
	setRateHeaders(w.Header(), lim, now)
	if allowed {
		return nil
	}
	return tooMany(w, lim, now, fmt.Sprintf("too many %s requests: this program may make %s a second", class, formatRate(lim.Limit())))
}

// checkSource answers 429 to a source that has failed authentication too often lately, before its
// keys are looked up.
func (l *limiter) checkSource(w http.ResponseWriter, r *http.Request) error {
	if l.auth == nil {
		return nil
	}
	now := l.now()
	lim := l.auth.get(sourceOf(r), now)
	if lim.TokensAt(now) >= 1 {
		return nil
	}
	setRateHeaders(w.Header(), lim, now)
	return tooMany(w, lim, now, "too many failed authentications from this address")
}

// authFailed counts a failed authentication against the request's source.
func (l *limiter) authFailed(r *http.Request) {
	if l.auth == nil {
		return
	}
	now := l.now()
	l.auth.get(sourceOf(r), now).AllowN(now, 1)
}

// tooMany sets Retry-After to the whole seconds until lim holds a token again (at least one) and
// returns the 4029 error saying why.
func tooMany(w http.ResponseWriter, lim *rate.Limiter, now time.Time, why string) error {
	wait := max(1, ceilSeconds((1-lim.TokensAt(now))/float64(lim.Limit())))
	w.Header().Set("Retry-After", strconv.Itoa(wait))
	return loyalty.Errorf(loyalty.CodeTooManyRequests, "%s; retry in %v", why, time.Duration(wait)*time.Second)
}

// setRateHeaders tells the client the state of its bucket: its size, the requests left in it now,
// and the seconds until it is full again.
func setRateHeaders(h http.Header, lim *rate.Limiter, now time.Time) {
	tokens := max(0, lim.TokensAt(now))
	h.Set("X-RateLimit-Limit", strconv.Itoa(lim.Burst()))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(int(tokens)))
	h.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds((float64(lim.Burst())-tokens)/float64(lim.Limit()))))
}

// ceilSeconds rounds s up to whole seconds, after rounding it to nanoseconds so that float error
// (1/(2/60.0) is 30.000000000000004) does not add a second.
func ceilSeconds(s float64) int {
	d := time.Duration(min(max(0, s), 1e9) * float64(time.Second))
	return int((d + time.Second - 1) / time.Second)
}

func formatRate(r rate.Limit) string { return strconv.FormatFloat(float64(r), 'f', -1, 64) }

// sourceOf names where a request came from: its peer's IPv4 address, or the /64 of its IPv6
// address, since one IPv6 host commonly holds a whole /64.
func sourceOf(r *http.Request) netip.Prefix {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Prefix{} // not a TCP peer (a test's handler call): all such requests share one bucket
	}
	addr := ap.Addr().Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// buckets holds one token bucket per key, all of the same rate and size, created full on first use.
// A bucket left alone for as long as an empty one takes to fill is full again, as good as new, so
// forgetting it changes nothing: keys live in two generations, the current one and the one before;
// a key used moves to the current one, and every refill period (or when the current one holds
// maxBucketKeys) the older generation is dropped. Memory thus stays bounded; only under a flood of
// more than maxBucketKeys keys within one period may a bucket be forgotten before it is full.
type buckets[K comparable] struct {
	limit  rate.Limit
	burst  int
	refill time.Duration

	mu       sync.Mutex
	cur, old map[K]*rate.Limiter
	rotated  time.Time
}

func newBuckets[K comparable](limit rate.Limit, burst int) *buckets[K] {
	refill := time.Duration(math.Ceil(float64(burst) / float64(limit) * float64(time.Second)))
	return &buckets[K]{limit: limit, burst: burst, refill: refill, cur: map[K]*rate.Limiter{}, old: map[K]*rate.Limiter{}}
}

// get returns the bucket of key at time now.
func (b *buckets[K]) get(key K, now time.Time) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.rotated) >= b.refill || len(b.cur) >= maxBucketKeys {
		b.old, b.cur, b.rotated = b.cur, make(map[K]*rate.Limiter, len(b.cur)), now
	}
	lim, ok := b.cur[key]
	if !ok {
		if lim, ok = b.old[key]; ok {
			delete(b.old, key)
		} else {
			lim = rate.NewLimiter(b.limit, b.burst) // full
		}
		b.cur[key] = lim
	}
	return lim
}
