package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/apptest"
	"github.com/tally-loyalty/tally/internal/store"
)

// These helpers run the real tally binary as a process, for the tests that kill it or run several.

// buildTally builds cmd/tally into dir and returns the binary's path.
func buildTally(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "tally")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/tally-loyalty/tally/cmd/tally").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tenantKeys are the keys `tally tenant create --json` prints.
type tenantKeys struct {
	ID        int64  `json:"id"`
	APIKey    string `json:"apiKey"`
	SecretKey string `json:"secretKey"`
}

// createTenant creates a tenant in the database with the tally command.
func createTenant(t *testing.T, bin, dsn, name string) tenantKeys {
	t.Helper()
	out, err := exec.Command(bin, "tenant", "create", name, "--json", "--db", dsn).Output()
	if err != nil {
		t.Fatalf("tally tenant create: %v", err)
	}
	var k tenantKeys
	if err := json.Unmarshal(out, &k); err != nil {
		t.Fatalf("tally tenant create printed %q: %v", out, err)
	}
	return k
}

// server is a `tally serve` process.
type server struct {
	cmd  *exec.Cmd
	URL  string
	logs *apptest.SyncBuffer
	done chan error
}

// startServer starts `tally serve` on the database, listening on a free loopback port, with the
// rate limits off and the extra flags, and stops it (gracefully) when the test ends.
func startServer(t *testing.T, bin, dsn string, flags ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--db", dsn, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--rate-read", "0", "--rate-write", "0", "--rate-batch", "0"}, flags...)
	s := &server{cmd: exec.Command(bin, args...), logs: &apptest.SyncBuffer{}, done: make(chan error, 1)}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start tally serve: %v", err)
	}
	addr := make(chan string, 1)
	go func() {
		// Copy the log for failure reports, and pick the listening address from it.
		lines := bufio.NewScanner(stderr)
		lines.Buffer(make([]byte, 1<<20), 1<<20)
		for lines.Scan() {
			s.logs.Write(append(lines.Bytes(), '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(lines.Bytes(), &rec) == nil && rec.Msg == "tally serving" {
				addr <- rec.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case err := <-s.done:
		s.done <- err
		t.Fatalf("tally serve exited: %v\n%s", err, s.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("tally serve did not start listening\n%s", s.logs)
	}
	return s
}

// kill ends the process at once, as a crash or a power cut would.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-s.done
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("killed tally serve: %v", err)
	}
	s.done <- err
}

// stop asks the process to shut down and waits for it, unless it has exited already.
func (s *server) stop(t *testing.T) {
	select {
	case err := <-s.done:
		s.done <- err
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Errorf("tally serve: %v\n%s", err, s.logs)
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("tally serve did not stop on SIGTERM\n%s", s.logs)
	}
}

// openDB opens the database a process serves, to check what it stored.
func openDB(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// clientOf is a client of the server acting as the tenant.
func clientOf(s *server, k tenantKeys) *client.Client {
	return client.New(s.URL, k.APIKey, k.SecretKey)
}
