package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/app"
	"github.com/tally-loyalty/tally/internal/bench/workload"
	"github.com/tally-loyalty/tally/internal/store"
)

// Server modes, as the report names them.
const (
	modeChild     = "child"
	modeInProcess = "in-process"
	modeExternal  = "external"
)

// server is the server a run measures.
type server struct {
	url, apiKey, secretKey string
	mode                   string
	database               string // "sqlite" or "postgres"; empty when the server is not ours
	// proc names the server's process under /proc: its pid, "self" when it runs in this process,
	// empty when it is not ours.
	proc string
	stop func() error
}

// peakRSS returns the server's peak resident memory so far (VmHWM) in bytes; 0 when the server is
// not ours.
func (s *server) peakRSS() (int64, error) {
	if s.proc == "" {
		return 0, nil
	}
	data, err := os.ReadFile("/proc/" + s.proc + "/status")
	if err != nil {
		return 0, fmt.Errorf("bench: read the server's memory: %w", err)
	}
	kb, ok := procField(string(data), "VmHWM")
	if !ok {
		return 0, fmt.Errorf("bench: /proc/%s/status has no VmHWM", s.proc)
	}
	return kb * 1024, nil
}

// clockTicks is the unit of the CPU times in /proc/<pid>/stat, USER_HZ, which Linux fixes at 100
// on every architecture Go supports.
const clockTicks = 100

// cpuTime returns the CPU time, user and system, the server's process has used; 0 when the server
// is not ours.
func (s *server) cpuTime() (time.Duration, error) {
	if s.proc == "" {
		return 0, nil
	}
	data, err := os.ReadFile("/proc/" + s.proc + "/stat")
	if err != nil {
		return 0, fmt.Errorf("bench: read the server's CPU time: %w", err)
	}
	// The command name, in parentheses, may hold spaces; utime and stime are the 12th and 13th
	// fields after it.
	_, rest, ok := strings.Cut(string(data), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("bench: /proc/%s/stat is not as expected", s.proc)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc/%s/stat: %w", s.proc, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// startServer starts the server cfg asks for, with a tenant of its own, or names the one given.
func startServer(ctx context.Context, cfg Config) (*server, error) {
	if cfg.Server != "" {
		return &server{url: cfg.Server, apiKey: cfg.APIKey, secretKey: cfg.SecretKey, mode: modeExternal,
			stop: func() error { return nil }}, nil
	}
	database := store.SQLite.String()
	if store.IsPostgres(cfg.DB) {
		database = store.Postgres.String()
	}
	if cfg.InProcess {
		return startInProcess(ctx, cfg, database)
	}
	return startChild(ctx, cfg, database)
}

// createTenant gives the run a tenant of its own, so that it may share a database with others.
func createTenant(ctx context.Context, db *store.DB) (store.TenantKeys, error) {
	var keys store.TenantKeys
	err := db.Write(ctx, func(tx *store.Tx) error {
		var err error
		_, keys, err = tx.CreateTenant(ctx, "bench-"+strconv.FormatInt(time.Now().UnixNano(), 36), time.Now())
		return err
	})
	if err != nil {
		return keys, fmt.Errorf("bench: create a tenant: %w", err)
	}
	return keys, nil
}

// startInProcess runs the server in this process, without rate limits, logging warnings and errors.
func startInProcess(ctx context.Context, cfg Config, database string) (*server, error) {
	log := slog.New(slog.NewTextHandler(cfg.Progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(ctx, app.Config{DB: cfg.DB, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("bench: open the server: %w", err)
	}
	keys, err := createTenant(ctx, a.DB)
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bench: listen: %w", err), a.Close())
	}
	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- a.Serve(serveCtx, ln) }()
	return &server{url: "http://" + ln.Addr().String(), apiKey: keys.APIKey, secretKey: keys.SecretKey,
		mode: modeInProcess, database: database, proc: "self",
		stop: func() error {
			cancel()
			return errors.Join(<-done, a.Close())
		}}, nil
}

// childStartTimeout bounds how long a child server may take to migrate and listen.
const childStartTimeout = time.Minute

// startChild runs `tally serve` as a child process on a free loopback port with every rate limit
// off, and reads the address it listens on from its log.
func startChild(ctx context.Context, cfg Config, database string) (*server, error) {
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("bench: open the database: %w", err)
	}
	keys, err := createTenant(ctx, db)
	if err = errors.Join(err, db.Close()); err != nil {
		return nil, err
	}
	exe := cfg.Executable
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("bench: find the tally binary: %w", err)
		}
	}
	cmd := exec.Command(exe, "serve", "--db", cfg.DB, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--rate-read", "0", "--rate-write", "0", "--rate-events", "0", "--rate-batch", "0", "--auth-failures", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: child server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s serve: %w", exe, err)
	}
	addrc := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		readChildLog(stderr, cfg.Progress, addrc)
	}()
	stop := func() error {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("bench: stop the child server: %w", err)
		}
		<-logDone // the log ends when the process exits; Wait must not close the pipe before
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("bench: child server: %w", err)
		}
		return nil
	}
	var addr string
	select {
	case addr = <-addrc:
	case <-logDone:
		return nil, fmt.Errorf("bench: the child server exited before listening: %w", cmd.Wait())
	case <-time.After(childStartTimeout):
		return nil, errors.Join(fmt.Errorf("bench: the child server did not listen within %s", childStartTimeout), stop())
	case <-ctx.Done():
		return nil, errors.Join(ctx.Err(), stop())
	}
	return &server{url: "http://" + addr, apiKey: keys.APIKey, secretKey: keys.SecretKey, mode: modeChild,
		database: database, proc: strconv.Itoa(cmd.Process.Pid), stop: stop}, nil
}

// readChildLog reads the child's JSON log until it ends: it sends the address from the line that
// says the server is listening, and copies warnings and errors to progress.
func readChildLog(r io.Reader, progress io.Writer, addrc chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Level, Msg, Addr string
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			fmt.Fprintf(progress, "server: %s\n", sc.Bytes())
			continue
		}
		switch {
		case line.Msg == "tally serving" && line.Addr != "":
			addrc <- line.Addr
		case line.Level == "WARN" || line.Level == "ERROR":
			fmt.Fprintf(progress, "server: %s\n", sc.Bytes())
		}
	}
	// A line too long for the scanner ends the scan; the rest is drained, as a child whose log
	// pipe is full would stop.
	if sc.Err() != nil {
		fmt.Fprintf(progress, "server: log unreadable: %v\n", sc.Err())
		if _, err := io.Copy(io.Discard, r); err != nil {
			fmt.Fprintf(progress, "server: log: %v\n", err)
		}
	}
}

// procField reads a "Name:   123 kB" line of a /proc file, in kB.
func procField(text, name string) (int64, bool) {
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// routes are the endpoints the server describes in its OpenAPI document, as "METHOD /path"
// relative to the API base path.
type routes map[string]bool

func (rs routes) batch(typ string) bool { return rs[http.MethodPost+" /batch/"+typ] }

func (rs routes) single(t workload.Type) bool { return rs[t.Method+" "+t.Path] }

// readRoutes reads the server's OpenAPI document: a type is measured only when its batch route
// exists, and compared with single calls only when its single endpoint does.
func readRoutes(ctx context.Context, c *client.Client) (routes, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := c.Send(ctx, client.Request{Method: http.MethodGet, Path: "/openapi.json"}, &doc); err != nil {
		return nil, fmt.Errorf("bench: read the server's API description: %w", err)
	}
	rs := routes{}
	for path, ops := range doc.Paths {
		rel, ok := strings.CutPrefix(path, client.BasePath)
		if !ok {
			continue
		}
		for method := range ops {
			rs[strings.ToUpper(method)+" "+rel] = true
		}
	}
	return rs, nil
}
