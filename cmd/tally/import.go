package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/transfer"
)

// clientFlags adds the flags that name a server and a tenant's keys; the client is made once fs is
// parsed.
func clientFlags(fs *flag.FlagSet) func() *client.Client {
	server := fs.String("server", "http://127.0.0.1:8080", "the Tally server's URL")
	apiKey := fs.String("apikey", "", "the tenant's API key")
	secretKey := fs.String("secretkey", "", "the tenant's secret key")
	return func() *client.Client { return client.New(*server, *apiKey, *secretKey) }
}

// pairs is a repeatable FIELD=VALUE flag.
type pairs map[string]string

func (p *pairs) String() string { return fmt.Sprint(map[string]string(*p)) }

func (p *pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want FIELD=VALUE, not %q", s)
	}
	if *p == nil {
		*p = pairs{}
	}
	(*p)[k] = v
	return nil
}

// formatFor returns the format named by --format, or else the one of path's extension.
func formatFor(flagValue, path string) (transfer.Format, error) {
	if flagValue != "" {
		return transfer.ParseFormat(flagValue)
	}
	if path == "-" || path == "" {
		return "", fmt.Errorf("give --format csv or jsonl for standard input and output")
	}
	return transfer.FormatOf(path)
}

// progressInterval is how often progress lines are written when standard error is not a terminal.
const progressInterval = 10 * time.Second

func runImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("import")
	connect := clientFlags(fs)
	typeName := fs.String("type", "", "what the rows are: customers, orders, cashback, adjustments, redeem or events")
	formatName := fs.String("format", "", "csv or jsonl (default: from FILE's extension: .csv, .jsonl or .ndjson)")
	parallel := fs.Int("parallel", 2, "batches of 1,000 rows in flight at once")
	reportPath := fs.String("report", "", "where the failed rows go (default: FILE's name with .failed before its extension)")
	salt := fs.String("salt", "", "mixed into every Idempotency-Key; a new value applies a file that was imported before again")
	var rename, set pairs
	fs.Var(&rename, "map", "FIELD=COLUMN: read FIELD from the file's COLUMN (repeatable)")
	fs.Var(&set, "set", "FIELD=VALUE: give FIELD this value in rows that leave it empty (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: tally import --type TYPE [flags] FILE (FILE - is standard input; flags before FILE)")
	}
	path := fs.Arg(0)
	typ, err := transfer.TypeNamed(*typeName)
	if err != nil {
		return fmt.Errorf("--type: %w", err)
	}
	format, err := formatFor(*formatName, path)
	if err != nil {
		return err
	}
	if *parallel < 1 {
		return fmt.Errorf("--parallel must be 1 or more")
	}
	if *reportPath == "" {
		*reportPath = defaultReportPath(path, format)
	}
	if samePath(*reportPath, path) {
		return fmt.Errorf("--report %s would overwrite the input: name another file", *reportPath)
	}
	in, total, err := openInput(path, format)
	if err != nil {
		return err
	}
	defer in.Close()
	// A report left by an earlier run would list rows that may have applied since.
	if err := os.Remove(*reportPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the old report: %w", err)
	}
	start := time.Now()
	sum, err := transfer.Import(ctx, connect(), in, transfer.Options{
		Type: typ, Format: format, Parallel: *parallel, Salt: *salt,
		Mapping:  transfer.Mapping{Rename: rename, Set: set},
		Report:   func() (io.WriteCloser, error) { return os.Create(*reportPath) },
		Progress: transfer.NewProgress(os.Stderr, isatty.IsTerminal(os.Stderr.Fd()), total, typ.Name, progressInterval),
		Log:      os.Stderr,
	})
	fmt.Fprintf(stdout, "%s: %s in %s\n", typ.Name, sum, time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		return fmt.Errorf("the import stopped early; run the same command again to finish it (rows already applied are not applied twice): %w", err)
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d of %d rows failed; they are in %s with the reasons: correct them there and import that file",
			sum.Failed, sum.Rows, *reportPath)
	}
	return nil
}

// openInput opens the file to import and counts its rows for the progress bar; standard input is
// not counted, since it can be read only once.
func openInput(path string, f transfer.Format) (io.ReadCloser, int, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), 0, nil
	}
	in, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	total, err := transfer.CountRows(in, f)
	if err == nil {
		_, err = in.Seek(0, io.SeekStart)
	}
	if err != nil {
		in.Close()
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	return in, total, nil
}

// defaultReportPath puts .failed before the input's extension: customers.csv -> customers.failed.csv.
func defaultReportPath(input string, f transfer.Format) string {
	if input == "-" {
		return "import.failed." + string(f)
	}
	ext := filepath.Ext(input)
	return strings.TrimSuffix(input, ext) + ".failed" + ext
}

func samePath(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}
