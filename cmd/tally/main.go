// Command tally is the Tally loyalty-points server and its tools.
//
//	tally serve              run the HTTP API and the batch workers
//	tally migrate            apply schema migrations and exit
//	tally tenant ...         create, list tenants; rotate a tenant's secret key
//	tally version            print the version
//
// Every flag can also be set through an environment variable: --db is TALLY_DB, --max-body-bytes is
// TALLY_MAX_BODY_BYTES, and so on. A flag on the command line wins over the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
)

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP API and the batch workers", runServe},
		{"migrate", "apply schema migrations and exit", runMigrate},
		{"tenant", "manage tenants: create NAME [--json] | list | rotate-secret NAME", runTenant},
		{"import", "apply a CSV or JSONL file through the batch API: --type TYPE FILE", runImport},
		{"export", "write the tenant's customers, balances or transactions as CSV or JSONL", runExport},
		{"program", "show or set a tenant's loyalty program: show [--json] | set FILE|-", runProgram},
		{"bench", "measure a server's batch throughput, latency and memory", runBench},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tally:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 {
		for _, c := range commands() {
			if c.name == args[0] {
				return c.run(ctx, args[1:], stdout)
			}
		}
	}
	fmt.Fprintln(os.Stderr, "usage: tally <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return flag.ErrHelp
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// newFlags returns a flag set for a subcommand.
func newFlags(name string) *flag.FlagSet {
	return flag.NewFlagSet("tally "+name, flag.ContinueOnError)
}

// parseFlags parses args after taking defaults from TALLY_* environment variables, so that the
// command line wins over the environment, which wins over the built-in default.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "TALLY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && err == nil {
			if setErr := f.Value.Set(v); setErr != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, setErr)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// dbFlag adds the --db flag every command that opens the database has.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "tally.db", "database: a SQLite file path, or a postgres://user@host/db URL")
}

// newLogger makes the process logger: readable text on a terminal, JSON when asked for.
func newLogger(format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "auto":
		if isatty.IsTerminal(os.Stderr.Fd()) {
			return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be auto, text or json, not %q", format)
}
