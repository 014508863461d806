package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tally-loyalty/tally/internal/transfer"
)

func runExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("export")
	connect := clientFlags(fs)
	what := fs.String("type", "", "what to write: "+strings.Join(transfer.ExportNames(), ", "))
	formatName := fs.String("format", "", "csv or jsonl (default: from --out's extension)")
	out := fs.String("out", "", "the file to write (default: standard output)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("usage: tally export --type TYPE --format csv|jsonl [--out FILE]")
	}
	format, err := formatFor(*formatName, *out)
	if err != nil {
		return err
	}
	if *out == "" {
		w := bufio.NewWriter(stdout)
		n, err := transfer.Export(ctx, connect(), *what, format, w)
		if err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		fmt.Fprintf(os.Stderr, "exported %d %s\n", n, *what)
		return nil
	}
	// The file appears only when it is whole: an export that fails midway leaves nothing behind.
	tmp, err := os.CreateTemp(filepath.Dir(*out), filepath.Base(*out)+".*.partial")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once the file is renamed
	w := bufio.NewWriter(tmp)
	n, err := transfer.Export(ctx, connect(), *what, format, w)
	if err == nil {
		err = w.Flush()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", *what, err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %d %s to %s\n", n, *what, *out)
	return nil
}
