package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

const programUsage = "usage: tally program show [--json] | set [--json] FILE|- (flags before FILE; --db, --tenant NAME)"

// runProgram shows or sets a tenant's loyalty program. A program read from a file is JSON in the shape
// of GET /configurations/program; fields left out take their defaults.
func runProgram(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", programUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlags("program " + sub)
	dsn := dbFlag(fs)
	tenant := fs.String("tenant", "default", "name of the tenant whose program it is")
	asJSON := fs.Bool("json", false, "print the program as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var input []byte
	switch {
	case sub == "show" && fs.NArg() == 0:
	case sub == "set" && fs.NArg() == 1:
		var err error
		if input, err = readInput(fs.Arg(0)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%s", programUsage)
	}
	db, err := store.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	eng := engine.New(nil)
	var p loyalty.Program
	if sub == "show" {
		err = db.Read(ctx, func(tx *store.Tx) error {
			id, err := tx.TenantIDByName(ctx, *tenant)
			if err != nil {
				return err
			}
			p, err = eng.Program(ctx, tx, id)
			return err
		})
	} else {
		if p, err = loyalty.DecodeProgram(input); err != nil {
			return err
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			id, err := tx.TenantIDByName(ctx, *tenant)
			if err != nil {
				return err
			}
			p, err = eng.SetProgram(ctx, tx, id, &p)
			return err
		})
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	if sub == "set" {
		fmt.Fprintf(stdout, "the program of tenant %q is now:\n", *tenant)
	}
	return printProgram(stdout, p)
}

// readInput reads the named file, or standard input for "-".
func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func printProgram(out io.Writer, p loyalty.Program) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "currency\t%s\n", p.Currency)
	fmt.Fprintf(w, "points\t%q, worth %s %s each\n", p.PointsName, p.PointValue, p.Currency)
	cashback := "disabled"
	if p.Cashback.Enabled {
		cashback = fmt.Sprintf("%s%% of what is paid", p.Cashback.RatePercent)
		if p.Cashback.MinimumOrderValue != nil {
			cashback += fmt.Sprintf(", on amounts of at least %s", *p.Cashback.MinimumOrderValue)
		}
		if p.Cashback.MaximumCashback != nil {
			cashback += fmt.Sprintf(", at most %s a transaction", *p.Cashback.MaximumCashback)
		}
	}
	fmt.Fprintf(w, "cashback\t%s\n", cashback)
	fmt.Fprintf(w, "return window\t%d days\n", p.ReturnWindowDays)
	expiry := "never"
	if p.PointsExpiryDays > 0 {
		expiry = fmt.Sprintf("%d days after they become available", p.PointsExpiryDays)
	}
	fmt.Fprintf(w, "points expire\t%s\n", expiry)
	fmt.Fprintf(w, "holds last\t%d minutes\n", p.HoldMinutes)
	fmt.Fprintf(w, "event rules\t%d\n", len(p.EventRules))
	return w.Flush()
}
