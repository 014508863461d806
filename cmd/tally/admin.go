package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tally-loyalty/tally/internal/app"
	"github.com/tally-loyalty/tally/internal/store"
)

func runVersion(ctx context.Context, args []string, stdout io.Writer) error {
	fmt.Fprintln(stdout, "tally", app.Version)
	return nil
}

func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("migrate")
	dsn := dbFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := store.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema is at version %d (%s)\n", v, db.Dialect())
	return nil
}

func runTenant(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: tally tenant create NAME [--json] | list | rotate-secret NAME")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("tenant " + sub)
	dsn := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Flags may also follow the name, as in `tally tenant create NAME --json`.
	name := fs.Arg(0)
	if fs.NArg() > 1 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("usage: tally tenant %s NAME [flags]: unexpected %q", sub, fs.Arg(0))
		}
	}
	if (sub == "create" || sub == "rotate-secret") && name == "" {
		return fmt.Errorf("usage: tally tenant %s NAME [flags]", sub)
	}
	db, err := store.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "create":
		return db.Write(ctx, func(tx *store.Tx) error {
			t, k, err := tx.CreateTenant(ctx, name, time.Now())
			if err != nil {
				return err
			}
			if *asJSON {
				return json.NewEncoder(stdout).Encode(struct {
					ID        int64  `json:"id"`
					Name      string `json:"name"`
					APIKey    string `json:"apiKey"`
					SecretKey string `json:"secretKey"`
				}{t.ID, t.Name, k.APIKey, k.SecretKey})
			}
			fmt.Fprintf(stdout, "tenant %q created; its keys are shown only now:\n  apikey:    %s\n  secretkey: %s\n", t.Name, k.APIKey, k.SecretKey)
			return nil
		})
	case "list":
		return db.Read(ctx, func(tx *store.Tx) error {
			ts, err := tx.ListTenants(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				return json.NewEncoder(stdout).Encode(ts)
			}
			w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tCREATED")
			for _, t := range ts {
				fmt.Fprintf(w, "%d\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(time.RFC3339))
			}
			return w.Flush()
		})
	case "rotate-secret":
		return db.Write(ctx, func(tx *store.Tx) error {
			secret, err := tx.RotateSecret(ctx, name)
			if err != nil {
				return err
			}
			if *asJSON {
				return json.NewEncoder(stdout).Encode(map[string]string{"name": name, "secretKey": secret})
			}
			fmt.Fprintf(stdout, "new secret key of %q (the old one no longer works):\n  secretkey: %s\n", name, secret)
			return nil
		})
	}
	return fmt.Errorf("unknown tenant command %q: want create, list or rotate-secret", sub)
}
