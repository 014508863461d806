package main

import (
	"flag"

	"github.com/tally-loyalty/tally/internal/httpapi"
)

// rateLimitFlags adds the flags of the request rate limits to fs, defaulting to
// httpapi.DefaultRateLimits; the limits are read once fs is parsed.
func rateLimitFlags(fs *flag.FlagSet) *httpapi.RateLimits {
	l := httpapi.DefaultRateLimits()
	fs.Float64Var(&l.Read, "rate-read", l.Read, "reads per second per tenant (customers, balances, configuration, batch status); 0 for no limit")
	fs.Float64Var(&l.Write, "rate-write", l.Write, "writes per second per tenant, and calls of any kind to transactions and orders; 0 for no limit")
	fs.Float64Var(&l.Events, "rate-events", l.Events, "event calls per second per tenant; 0 for no limit")
	fs.Float64Var(&l.Batch, "rate-batch", l.Batch, "batch submissions per second per tenant; 0 for no limit")
	fs.IntVar(&l.AuthFailures, "auth-failures", l.AuthFailures,
		"failed authentications one address may make per --auth-failure-window before it is answered 429; 0 for no limit")
	fs.DurationVar(&l.AuthWindow, "auth-failure-window", l.AuthWindow, "the window of --auth-failures")
	return &l
}
