package pgtest

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestDSNUsableDatabase(t *testing.T) {
	dsn := DSN(t)
	if !strings.HasPrefix(dsn, "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(dsn, "?sslmode=disable") {
		t.Errorf("DSN = %q, want postgres://postgres@127.0.0.1:PORT/DB?sslmode=disable", dsn)
	}
	conn := connect(t, dsn)
	ctx := context.Background()

	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("fresh database has %d public tables, want 0", n)
	}

	if _, err := conn.Exec(ctx, "CREATE TABLE points (id bigint PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO points (id, name) VALUES (1, 'alice'), (2, 'bob')"); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := conn.QueryRow(ctx, "SELECT name FROM points WHERE id = $1", 2).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "bob" {
		t.Errorf("got name %q, want bob", name)
	}

	var fsync, syncCommit string
	if err := conn.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit')").Scan(&fsync, &syncCommit); err != nil {
		t.Fatal(err)
	}
	if fsync != "on" || syncCommit != "on" {
		t.Errorf("fsync=%s synchronous_commit=%s, want on/on", fsync, syncCommit)
	}
}

func TestDSNIsolatedDatabases(t *testing.T) {
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("two DSN calls returned the same URL %q", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	ctx := context.Background()

	if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var dbA, dbB string
	if err := ca.QueryRow(ctx, "SELECT current_database()").Scan(&dbA); err != nil {
		t.Fatal(err)
	}
	if err := cb.QueryRow(ctx, "SELECT current_database()").Scan(&dbB); err != nil {
		t.Fatal(err)
	}
	if dbA == dbB {
		t.Fatalf("both connections use database %q", dbA)
	}
	var found *string
	if err := cb.QueryRow(ctx, "SELECT to_regclass('only_in_a')::text").Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found != nil {
		t.Errorf("table created in %s is visible in %s", dbA, dbB)
	}
}

func TestDSNDropsDatabaseOnCleanup(t *testing.T) {
	var dsn string
	t.Run("user", func(t *testing.T) {
		dsn = DSN(t)
		connect(t, dsn) // left open on purpose: the drop must force it closed
	})
	if t.Failed() || dsn == "" {
		return
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn := connect(t, u.String())
	var exists bool
	if err := conn.QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestDSNParallel(t *testing.T) {
	for i := 0; i < 4; i++ {
		t.Run("p", func(t *testing.T) {
			t.Parallel()
			conn := connect(t, DSN(t))
			if _, err := conn.Exec(context.Background(), "CREATE TABLE t (x int)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	missing := errors.New("no initdb")
	tests := []struct {
		name    string
		err     error
		require string
		want    outcome
	}{
		{"found, not required", nil, "", proceed},
		{"found, required", nil, "1", proceed},
		{"missing, unset", missing, "", skipTest},
		{"missing, 0", missing, "0", skipTest},
		{"missing, false", missing, "false", skipTest},
		{"missing, garbage", missing, "maybe", skipTest},
		{"missing, 1", missing, "1", failTest},
		{"missing, true", missing, "true", failTest},
		{"missing, 1 with spaces", missing, " 1 ", failTest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide(tt.err, tt.require); got != tt.want {
				t.Errorf("decide(%v, %q) = %v, want %v", tt.err, tt.require, got, tt.want)
			}
		})
	}
}

func TestBogusBinDirSkips(t *testing.T) {
	t.Setenv(envBin, filepath.Join(t.TempDir(), "no-such-postgres"))
	_, err := findBinDir()
	if err == nil {
		t.Fatal("findBinDir succeeded with a bogus " + envBin)
	}
	if !strings.Contains(err.Error(), envBin) {
		t.Errorf("error %q does not name %s", err, envBin)
	}
	if Available() {
		t.Error("Available() = true with a bogus " + envBin)
	}
	if got := decide(err, ""); got != skipTest {
		t.Errorf("unset %s: decide = %v, want skip", envRequire, got)
	}
	if got := decide(err, "1"); got != failTest {
		t.Errorf("%s=1: decide = %v, want fail", envRequire, got)
	}
}

func TestVersionLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"9.6", "15", true},
		{"15", "9.6", false},
		{"15", "16", true},
		{"16", "16", false},
		{"10", "9", false},
	}
	for _, tt := range tests {
		if got := versionLess(tt.a, tt.b); got != tt.want {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDBName(t *testing.T) {
	got := dbName("TestFoo/Sub-Case#01_"+strings.Repeat("x", 100), 7)
	if len(got) > 63 {
		t.Errorf("dbName too long (%d bytes): %q", len(got), got)
	}
	if !strings.HasPrefix(got, "t7_testfoo_sub_case_01_") {
		t.Errorf("dbName = %q", got)
	}
	if dbName("T", 1) == dbName("T", 2) {
		t.Error("dbName not unique per sequence number")
	}
}
