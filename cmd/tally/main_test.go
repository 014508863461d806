package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/batch"
)

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("tally %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

func TestTenantCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	var created struct {
		ID                      int64
		Name, APIKey, SecretKey string
	}
	if err := json.Unmarshal([]byte(runCLI(t, "tenant", "create", "acme", "--json", "--db", db)), &created); err != nil {
		t.Fatal(err)
	}
	if created.Name != "acme" || !strings.HasPrefix(created.APIKey, "tly_pk_") || !strings.HasPrefix(created.SecretKey, "tly_sk_") {
		t.Fatalf("create: %+v", created)
	}
	if err := run(context.Background(), []string{"tenant", "create", "--db", db, "acme"}, &bytes.Buffer{}); err == nil {
		t.Fatal("a second tenant named acme was created")
	}
	list := runCLI(t, "tenant", "list", "--db", db)
	if !strings.Contains(list, "acme") || strings.Contains(list, created.APIKey) {
		t.Fatalf("list: %q", list)
	}
	rotated := runCLI(t, "tenant", "rotate-secret", "acme", "--db", db)
	if !strings.Contains(rotated, "tly_sk_") || strings.Contains(rotated, created.SecretKey) {
		t.Fatalf("rotate: %q", rotated)
	}
	if !strings.Contains(runCLI(t, "migrate", "--db", db), "schema is at version") {
		t.Fatal("migrate printed no version")
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	t.Setenv("TALLY_DB", db)
	runCLI(t, "tenant", "create", "from-env")
	if !strings.Contains(runCLI(t, "tenant", "list", "--db", db), "from-env") {
		t.Fatal("TALLY_DB was not used")
	}
	// The command line wins over the environment.
	other := filepath.Join(t.TempDir(), "flag.db")
	runCLI(t, "tenant", "create", "from-flag", "--db", other)
	if strings.Contains(runCLI(t, "tenant", "list"), "from-flag") {
		t.Fatal("the flag did not override TALLY_DB")
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := run(context.Background(), []string{"bogus"}, &bytes.Buffer{}); err == nil {
		t.Fatal("unknown command accepted")
	}
	if !strings.HasPrefix(runCLI(t, "version"), "tally ") {
		t.Fatal("version")
	}
}

// --batch-workers takes auto, a count, or 0 for none, and refuses anything else.
func TestWorkersFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"auto", 0, true}, {"0", batch.NoWorkers, true}, {"1", 1, true}, {"8", 8, true},
		{"-1", 0, false}, {"many", 0, false}, {"", 0, false},
	} {
		var w workersFlag
		err := w.Set(tc.in)
		if (err == nil) != tc.ok || err == nil && w.n != tc.want {
			t.Errorf("Set(%q): n %d, %v; want %d, ok %v", tc.in, w.n, err, tc.want, tc.ok)
		}
		if err == nil && w.String() != tc.in {
			t.Errorf("Set(%q) then String() = %q", tc.in, w.String())
		}
	}
}
