package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
)

func TestImportAndExportCommands(t *testing.T) {
	env := apptest.Start(t, store.SQLite)
	tn := env.NewTenant(t, "a")
	t.Setenv("TALLY_SERVER", env.URL)
	t.Setenv("TALLY_APIKEY", tn.Keys.APIKey)
	t.Setenv("TALLY_SECRETKEY", tn.Keys.SecretKey)
	dir := t.TempDir()
	input := filepath.Join(dir, "people.csv")
	data := "Member,custom.tier,customerAttributes.totalSpent\nm1,gold,10.50\nm2,silver,ten\nm3,,7\n"
	if err := os.WriteFile(input, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	err := run(context.Background(), []string{"import", "--type", "customers", "--map", "customerId=Member", input}, &out)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 rows failed") {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "customers: 3 rows read, 2 applied, 1 failed") {
		t.Fatalf("summary: %q", out.String())
	}
	report, err := os.ReadFile(filepath.Join(dir, "people.failed.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "_line,_code,_message,Member,custom.tier,customerAttributes.totalSpent\n" +
		`3,3003,"customerAttributes.totalSpent: must be a number such as 19.99, not ""ten""",m2,silver,ten` + "\n"
	if string(report) != want {
		t.Fatalf("report\n%s\nwant\n%s", report, want)
	}

	// The corrected report imports as it is, and a clean run leaves no report behind.
	fixed := filepath.Join(dir, "fixed.csv")
	if err := os.WriteFile(fixed, bytes.Replace(report, []byte(",ten\n"), []byte(",10\n"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "import", "--type", "customers", "--map", "customerId=Member", fixed)
	if _, err := os.Stat(filepath.Join(dir, "fixed.failed.csv")); !os.IsNotExist(err) {
		t.Fatalf("a clean import left a report: %v", err)
	}

	exported := filepath.Join(dir, "out.jsonl")
	if got := runCLI(t, "export", "--type", "customers", "--out", exported); !strings.Contains(got, "exported 3 customers") {
		t.Fatalf("export: %q", got)
	}
	text, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(text)), "\n"); len(lines) != 3 ||
		!strings.Contains(lines[1], `"customerId":"m2"`) || !strings.Contains(lines[1], `"totalSpent":10`) {
		t.Fatalf("export:\n%s", text)
	}

	for _, args := range [][]string{
		{"import", "--type", "customers", "-"},
		{"import", "--type", "parcels", input},
		{"import", "--type", "customers", "--report", input, input},
		{"export", "--type", "customers"},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("tally %s: no error", strings.Join(args, " "))
		}
	}
}
