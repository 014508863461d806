package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
	"github.com/tally-loyalty/tally/internal/transfer"
	"github.com/tally-loyalty/tally/internal/transfer/transfertest"
)

// importFile imports the file at path, and returns the summary and the failure report's text.
func importFile(t *testing.T, ctx context.Context, c *client.Client, typ, path string, progress transfer.Progress) (transfer.Summary, string, error) {
	t.Helper()
	ty, err := transfer.TypeNamed(typ)
	if err != nil {
		t.Fatal(err)
	}
	f, err := transfer.FormatOf(path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	reportPath := path + ".failed"
	if err := os.Remove(reportPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	sum, err := transfer.Import(ctx, c, in, transfer.Options{Type: ty, Format: f, Progress: progress,
		Report: func() (io.WriteCloser, error) { return os.Create(reportPath) }})
	report, readErr := os.ReadFile(reportPath)
	if readErr != nil && !errors.Is(readErr, os.ErrNotExist) {
		t.Fatal(readErr)
	}
	return sum, string(report), err
}

// writeFile writes a file of a header and n generated rows into dir.
func writeFile(t *testing.T, dir, name, header string, n int, row func(i int) string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(header + "\n")
	for i := 1; i <= n; i++ {
		b.WriteString(row(i) + "\n")
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// countRows counts the tenant's rows of a table.
func countRows(t *testing.T, env *apptest.Env, table string, tenantID int64) int {
	t.Helper()
	var n int
	err := env.App.DB.Read(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+table+" WHERE tenant_id = ?", tenantID).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// reportLines returns the _line of every row of a failure report.
func reportLines(t *testing.T, f transfer.Format, report string) []int {
	t.Helper()
	var lines []int
	if f == transfer.JSONL {
		for _, text := range strings.Split(strings.TrimSuffix(report, "\n"), "\n") {
			var row struct {
				Line int `json:"_line"`
			}
			if err := json.Unmarshal([]byte(text), &row); err != nil {
				t.Fatalf("report line %q: %v", text, err)
			}
			lines = append(lines, row.Line)
		}
		return lines
	}
	records, err := csv.NewReader(strings.NewReader(report)).ReadAll()
	if err != nil || len(records) == 0 || records[0][0] != "_line" {
		t.Fatalf("report %q: %v", report, err)
	}
	for _, r := range records[1:] {
		n, err := strconv.Atoi(r[0])
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, n)
	}
	return lines
}

// exportBalances returns the total points of every customer of the tenant, from a JSONL export.
func exportBalances(t *testing.T, c *client.Client) map[string]int64 {
	t.Helper()
	var out bytes.Buffer
	if _, err := transfer.Export(ctx, c, "balances", transfer.JSONL, &out); err != nil {
		t.Fatal(err)
	}
	balances := map[string]int64{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var b struct {
			CustomerID         string `json:"customerId"`
			TotalPointsBalance int64  `json:"totalPointsBalance"`
		}
		if err := dec.Decode(&b); err != nil {
			t.Fatal(err)
		}
		balances[b.CustomerID] = b.TotalPointsBalance
	}
	return balances
}

// TestImportLargeFilesExactlyOnce imports 25,000 customers and 25,000 orders, interrupts each
// import midway and runs it again, and checks that every good row applied exactly once and every
// bad one is in the report with its line. It runs on SQLite only, to keep the suite's time in
// bounds; TestExportImportRoundTrip runs the same import code on both databases.
func TestImportLargeFilesExactlyOnce(t *testing.T) {
	const rows = 25000
	env := apptest.Start(t, store.SQLite)
	a := env.NewTenant(t, "a")
	dir := t.TempDir()

	// Rows 137 and 24,001 have a total that is not a number; row 9,000 has a customerId the server
	// refuses. Line numbers are row numbers plus one, for the header.
	unreadable, refused := []int{137, 24001}, 9000
	customers := writeFile(t, dir, "customers.csv", "customerId,email,customerAttributes.displayName,custom.tier,customerAttributes.totalSpent,tags",
		rows, func(i int) string {
			id, spent, tags := fmt.Sprintf("c%05d", i), fmt.Sprintf("%d.%02d", i, i%100), ""
			if slices.Contains(unreadable, i) {
				spent = "lots"
			}
			if i == refused {
				id = " spaced "
			}
			if i%5000 == 0 {
				tags = `"vip, early"`
			}
			return fmt.Sprintf("%s,c%d@example.com,Customer %d,tier-%d,%s,%s", id, i, i, i%3, spent, tags)
		})

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, _, err := importFile(t, runCtx, a.Client, "customers", customers, &transfertest.CancelAfter{Rows: 5000, Cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import: %v", err)
	}
	if n := countRows(t, env, "customers", a.ID); n < 5000-3 || n >= rows-3 {
		t.Fatalf("%d customers after the interruption, want some but not all", n)
	}

	sum, report, err := importFile(t, ctx, a.Client, "customers", customers, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (transfer.Summary{Rows: rows, Applied: rows - 3, Failed: 3, Batches: rows / transfer.BatchSize}); sum != want {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	if n := countRows(t, env, "customers", a.ID); n != rows-3 {
		t.Fatalf("%d customers, want %d", n, rows-3)
	}
	if lines := reportLines(t, transfer.CSV, report); !slices.Equal(lines, []int{138, 9001, 24002}) {
		t.Fatalf("report lines %v", lines)
	}
	c, err := a.Client.CustomerDetails(ctx, "c05000")
	if err != nil {
		t.Fatal(err)
	}
	if at := c.CustomerAttributes; at.TotalSpent.String() != "5000.00" || string(at.Custom["tier"]) != `"tier-2"` ||
		!slices.Equal(at.Tags, []string{"vip", "early"}) {
		t.Fatalf("c05000: %+v", c)
	}

	// The orders go to a tenant of their own, whose only customers are the ones the orders create,
	// so that its balances are quick to read back.
	t.Run("orders", func(t *testing.T) { importOrders(t, env, env.NewTenant(t, "b"), dir) })
}

// importOrders imports 25,000 orders of 5,000 customers from JSONL (the format that carries line
// items), interrupted once, and checks the ledger and the balances.
func importOrders(t *testing.T, env *apptest.Env, a apptest.Tenant, dir string) {
	const rows, customers = 25000, 5000
	// Row 500 is not JSON, row 12,345 has a totalPaid that is not a number, row 20,000 repeats the
	// orderId of row 1 (9004 duplicate). Every good order pays 10 + i%7 .99, earning 10% of it as
	// points at the default 0.01 a point.
	expected := map[string]int64{} // points by customer
	path := filepath.Join(dir, "orders.jsonl")
	var b strings.Builder
	for i := 1; i <= rows; i++ {
		customer, orderID, paid := fmt.Sprintf("c%05d", i%customers+1), fmt.Sprintf("o%05d", i), fmt.Sprintf("%d.99", 10+i%7)
		switch i {
		case 500:
			b.WriteString("{not json\n")
			continue
		case 12345:
			paid = `"twelve"`
		case 20000:
			orderID = "o00001"
		default:
			expected[customer] += int64((10+i%7)*100+99) / 10
		}
		fmt.Fprintf(&b, `{"customerId":%q,"orderId":%q,"orderDate":"2025-12-01T10:00:00Z","totalPaid":%s,`+
			`"lineItems":[{"productId":"p%d","quantity":1,"price":%s}]}`+"\n", customer, orderID, paid, i%50, paid)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, _, err := importFile(t, runCtx, a.Client, "orders", path, &transfertest.CancelAfter{Rows: 5000, Cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import: %v", err)
	}
	sum, report, err := importFile(t, ctx, a.Client, "orders", path, nil)

	if err != nil {
		t.Fatal(err)
	}
	if want := (transfer.Summary{Rows: rows, Applied: rows - 3, Failed: 3, Batches: rows / transfer.BatchSize}); sum != want {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
	var orders int
	err = env.App.DB.Read(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ? AND kind = 'PaymentReward'`, a.ID).Scan(&orders)
	})
	if err != nil || orders != rows-3 {
		t.Fatalf("%d order transactions in the ledger (%v), want %d", orders, err, rows-3)
	}
	balances := exportBalances(t, a.Client)
	for customer, points := range balances {
		if points != expected[customer] {
			t.Fatalf("%s has %d points, want %d", customer, points, expected[customer])
		}
	}
	if len(expected) != customers {
		t.Fatalf("orders of %d customers, want %d", len(expected), customers)
	}
	if lines := reportLines(t, transfer.JSONL, report); !slices.Equal(lines, []int{500, 12345, 20000}) {
		t.Fatalf("report lines %v\n%s", lines, report)
	}
}

// TestExportImportRoundTrip exports a tenant's customers and balances, imports them into an empty
// tenant (the balances as adjustments) and checks that they come out the same.
func TestExportImportRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		env := apptest.Start(t, d)
		src, dst := env.NewTenant(t, "source"), env.NewTenant(t, "target")
		dir := t.TempDir()
		const n = 300

		// Customers with awkward values: quotes, commas and newlines in text, strings that look
		// like numbers, exact decimals, nested custom values, lists, tags.
		names := []string{`Ada "the first", Countess`, "multi\nline", "ünïcødé ✓", "plain"}
		var b strings.Builder
		for i := 1; i <= n; i++ {
			custom := fmt.Sprintf(`"tier":%q,"visits":%d,"flag":%t`, []string{"gold", "silver", "007"}[i%3], i%11, i%2 == 0)
			if i%10 == 0 {
				custom += `,"nested":{"a":[1,"x"]}`
			}
			if i%13 == 0 {
				custom += `,"empty":"","numeric":"42"`
			}
			attrs := fmt.Sprintf(`"displayName":%q,"channel":%q,"totalSpent":%d.450,"totalOrders":%d,"custom":{%s}`,
				names[i%4], []string{"web", "pos", "mobile", "callcenter"}[i%4], i, i%17, custom)
			if i%20 == 0 {
				attrs += `,"utms":[{"utm_source":"mail","utm_campaign":"c1"}],"paymentMethods":["visa","cash"]`
			}
			if i%100 == 0 {
				attrs += `,"tags":["vip","news letter"]`
			}
			fmt.Fprintf(&b, `{"customerId":"r%04d","email":"u%d@example.com","guest":%t,"customerAttributes":{%s}}`+"\n", i, i, i%9 == 0, attrs)
		}
		customersFile := filepath.Join(dir, "customers.jsonl")
		if err := os.WriteFile(customersFile, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		if sum, report, err := importFile(t, ctx, src.Client, "customers", customersFile, nil); err != nil || sum.Failed != 0 {
			t.Fatalf("import customers: %+v %v\n%s", sum, err, report)
		}
		// Balances: points for every second customer, taken back in part from some of them; the
		// others have none.
		adjustments := writeFile(t, dir, "adjustments.csv", "customerId,points,reason", n/2+20, func(i int) string {
			if i > n/2 {
				return fmt.Sprintf("r%04d,-50,correction", (i-n/2)*2)
			}
			return fmt.Sprintf("r%04d,%d,welcome", i*2, 100+i)
		})
		if sum, report, err := importFile(t, ctx, src.Client, "adjustments", adjustments, nil); err != nil || sum.Failed != 0 {
			t.Fatalf("import adjustments: %+v %v\n%s", sum, err, report)
		}

		t.Run("customers", func(t *testing.T) {
			if others := customerProfiles(t, dst.Client); len(others) != 0 {
				t.Fatalf("the empty tenant lists %d customers of another", len(others))
			}
			exported := exportFile(t, src.Client, "customers", filepath.Join(dir, "exported-customers.csv"))
			if sum, report, err := importFile(t, ctx, dst.Client, "customers", exported, nil); err != nil || sum.Applied != n {
				t.Fatalf("import the export: %+v %v\n%s", sum, err, report)
			}
			want, got := customerProfiles(t, src.Client), customerProfiles(t, dst.Client)
			if len(want) != n || !slices.Equal(got, want) {
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("%d customers, want %d; first difference:\n got %s\nwant %s", len(got), len(want), got[i], want[i])
					}
				}
				t.Fatalf("%d customers, want %d", len(got), len(want))
			}
		})

		t.Run("transactions", func(t *testing.T) {
			for _, name := range []string{"transactions.jsonl", "transactions.csv"} {
				text, err := os.ReadFile(exportFile(t, src.Client, "transactions", filepath.Join(dir, name)))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(text)), "\n")
				if name == "transactions.csv" {
					if !strings.HasPrefix(lines[0], "transactionId,gameballTransactionId,type,direction,customerId,points,") {
						t.Fatalf("header %q", lines[0])
					}
					lines = lines[1:]
				}
				if len(lines) != n/2+20 {
					t.Fatalf("%s: %d transactions, want %d", name, len(lines), n/2+20)
				}
			}
		})

		t.Run("balances as adjustments", func(t *testing.T) {
			exported := exportFile(t, src.Client, "balances", filepath.Join(dir, "exported-balances.csv"))
			ty, _ := transfer.TypeNamed("adjustments")
			in, err := os.Open(exported)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var report bytes.Buffer
			sum, err := transfer.Import(ctx, dst.Client, in, transfer.Options{Type: ty, Format: transfer.CSV,
				Mapping: transfer.Mapping{Rename: map[string]string{"points": "availablePointsBalance"},
					Set: map[string]string{"reason": "opening balance"}},
				Report: func() (io.WriteCloser, error) { return nopWriteCloser{&report}, nil }})
			if err != nil {
				t.Fatal(err)
			}
			want, got := balances(t, src.Client), balances(t, dst.Client)
			zero := 0
			for _, b := range want {
				if b.AvailablePointsBalance == 0 {
					zero++
				}
			}
			// A zero balance is no adjustment: those rows fail, and those customers keep nothing.
			if sum.Failed != zero || zero != n/2 || strings.Count(report.String(), "must be a non-zero number") != zero {
				t.Fatalf("%+v with %d zero balances; report:\n%.500s", sum, zero, report.String())
			}
			if len(got) != len(want) {
				t.Fatalf("%d balances, want %d", len(got), len(want))
			}
			for i := range want {
				w, g := want[i], got[i]
				if g.CustomerID != w.CustomerID || g.TotalPointsBalance != w.TotalPointsBalance ||
					g.AvailablePointsBalance != w.AvailablePointsBalance || g.PendingPoints != w.PendingPoints ||
					g.AvailablePointsValue != w.AvailablePointsValue || g.TotalPointsValue != w.TotalPointsValue {
					t.Fatalf("balance\n got %+v\nwant %+v", g, w)
				}
			}
		})
	})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// exportFile exports the tenant's data to path in the format of its extension.
func exportFile(t *testing.T, c *client.Client, what, path string) string {
	t.Helper()
	f, err := transfer.FormatOf(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := transfer.Export(ctx, c, what, f, &out); err != nil {
		t.Fatalf("export %s: %v", what, err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// customerProfiles returns every customer of the tenant as JSON, in customerId order, without what
// the server assigns (gameballId, createdAt, updatedAt).
func customerProfiles(t *testing.T, c *client.Client) []string {
	t.Helper()
	var profiles []string
	for cursor, more := "", true; more; {
		page, err := c.ListCustomers(ctx, 200, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, cust := range page.Customers {
			cust.GameballID, cust.CreatedAt, cust.UpdatedAt = 0, time.Time{}, time.Time{}
			text, err := json.Marshal(cust)
			if err != nil {
				t.Fatal(err)
			}
			profiles = append(profiles, string(text))
		}
		cursor, more = page.NextCursor, page.HasMore
	}
	return profiles
}

// balances returns the balance of every customer of the tenant, in customerId order.
func balances(t *testing.T, c *client.Client) []client.CustomerBalance {
	t.Helper()
	var all []client.CustomerBalance
	for cursor, more := "", true; more; {
		page, err := c.ListBalances(ctx, 200, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Balances...)
		cursor, more = page.NextCursor, page.HasMore
	}
	return all
}
