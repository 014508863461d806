// Package crashtest holds the crash-injection test: it builds the tally binary, drives a real
// `tally serve` process with concurrent single calls and batches, kills it with SIGKILL at random
// moments, restarts it, and checks after every run that nothing acknowledged was lost, nothing was
// applied twice, every batch item is in one state consistent with its effect, and the ledger adds
// up. Run more with `go test ./internal/crashtest -crash.runs=300`.
package crashtest
