// Package pgtest gives tests a real, throwaway PostgreSQL server.
//
// The first call to DSN in a test binary initialises and starts a private
// cluster in a temporary directory (listening on 127.0.0.1 on a free port);
// every call then creates a fresh, empty database for the calling test and
// drops it when the test ends. Main stops the cluster and removes its
// directory when the test binary finishes.
//
// The server binaries (initdb, pg_ctl, postgres) are looked up in
// $TALLY_PG_BIN, then in the newest /usr/lib/postgresql/*/bin, then on PATH.
// When they are missing, tests calling DSN are skipped, unless
// TALLY_REQUIRE_POSTGRES=1, in which case they fail.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// envBin names a directory holding initdb, pg_ctl and postgres.
	envBin = "TALLY_PG_BIN"
	// envRequire turns a missing PostgreSQL into a test failure.
	envRequire = "TALLY_REQUIRE_POSTGRES"

	superuser  = "postgres" // database superuser created by initdb
	osUser     = "postgres" // OS account that runs the server when we are root
	dirPrefix  = "tally-pgtest-"
	ownerFile  = "owner.pid" // pid of the test binary owning a cluster dir
	startTries = 3

	installHint = "install the PostgreSQL server with `apt-get install postgresql` (Debian/Ubuntu), " +
		"or set " + envBin + " to the directory holding initdb, pg_ctl and postgres"
)

// serverOptions are passed to postgres on every start. fsync and
// synchronous_commit are the (durable) defaults, spelled out on purpose.
var serverOptions = []string{
	"-c", "fsync=on",
	"-c", "synchronous_commit=on",
	"-c", "random_page_cost=1.1",
	"-c", "max_connections=200",
	"-c", "shared_buffers=128MB",
}

var (
	startOnce sync.Once
	started   *cluster // set by startOnce when the cluster is up
	startErr  error    // set by startOnce when it failed

	// mu guards current, the cluster (possibly half set up) Main must tear down.
	mu      sync.Mutex
	current *cluster

	dbSeq atomic.Int64
)

// Main runs a test binary's tests and then stops the throwaway cluster if one
// was started. Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// The cluster is also stopped when the binary receives SIGINT or SIGTERM. A
// binary killed outright (or panicking on -timeout) leaves its cluster
// running; the next cluster started from the same temp directory reaps it.
func Main(m *testing.M) {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-sigc
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "pgtest: got %v, stopping PostgreSQL\n", sig)
		teardown()
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()

	code := m.Run()
	signal.Stop(sigc)
	teardown()
	os.Exit(code)
}

// Available reports whether the PostgreSQL server binaries were found. It
// starts nothing.
func Available() bool {
	_, err := findBinDir()
	return err == nil
}

// DSN returns a postgres:// URL of a fresh, empty database created for this
// test on the test binary's throwaway cluster, which is started on the first
// call. The database is dropped (WITH (FORCE)) in t.Cleanup.
//
// When the PostgreSQL binaries are missing the test is skipped with a message
// saying how to install them, or fails if TALLY_REQUIRE_POSTGRES=1.
func DSN(t testing.TB) string {
	t.Helper()
	binDir, err := findBinDir()
	switch decide(err, os.Getenv(envRequire)) {
	case skipTest:
		t.Skipf("pgtest: SKIPPING, PostgreSQL is not available: %v\n"+
			"pgtest: %s; set %s=1 to turn this skip into a failure", err, installHint, envRequire)
	case failTest:
		t.Fatalf("pgtest: PostgreSQL is required (%s=%s) but not available: %v\npgtest: %s",
			envRequire, os.Getenv(envRequire), err, installHint)
	}

	startOnce.Do(func() { started, startErr = start(binDir) })
	if startErr != nil {
		t.Fatalf("pgtest: starting PostgreSQL: %v", startErr)
	}
	c := started

	name := dbName(t.Name(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		q := "DROP DATABASE IF EXISTS " + pgx.Identifier{name}.Sanitize() + " WITH (FORCE)"
		if err := c.exec(ctx, q); err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	return c.url(name)
}

// outcome is what DSN does about the availability of PostgreSQL.
type outcome int

const (
	proceed outcome = iota
	skipTest
	failTest
)

func (o outcome) String() string {
	switch o {
	case proceed:
		return "proceed"
	case skipTest:
		return "skip"
	case failTest:
		return "fail"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// decide maps the result of the binary lookup and the value of
// TALLY_REQUIRE_POSTGRES to what DSN should do.
func decide(binErr error, require string) outcome {
	if binErr == nil {
		return proceed
	}
	if required, _ := strconv.ParseBool(strings.TrimSpace(require)); required {
		return failTest
	}
	return skipTest
}

// serverBinaries must all be present in the binary directory.
var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// findBinDir locates the directory holding the PostgreSQL server binaries.
func findBinDir() (string, error) {
	if dir := os.Getenv(envBin); dir != "" {
		if err := checkBinDir(dir); err != nil {
			return "", fmt.Errorf("%s=%q: %w", envBin, dir, err)
		}
		return dir, nil
	}

	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool {
		return versionLess(filepath.Base(filepath.Dir(matches[j])), filepath.Base(filepath.Dir(matches[i])))
	})
	for _, dir := range matches {
		if checkBinDir(dir) == nil {
			return dir, nil
		}
	}

	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if err := checkBinDir(dir); err != nil {
			return "", fmt.Errorf("initdb found on PATH at %s, but: %w", p, err)
		}
		return dir, nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in " +
		envBin + ", /usr/lib/postgresql/*/bin or PATH")
}

// checkBinDir reports whether dir holds executable server binaries.
func checkBinDir(dir string) error {
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("no %s: %w", name, err)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", filepath.Join(dir, name))
		}
	}
	return nil
}

// versionLess compares PostgreSQL version directory names such as "9.6",
// "15" and "16" numerically.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return a < b
}

// dbName builds a unique, valid (<= 63 bytes) database name from a test name.
func dbName(testName string, seq int64) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	slug := b.String()
	if len(slug) > 40 {
		slug = slug[:40]
	}
	return fmt.Sprintf("t%d_%s", seq, slug)
}

// cluster is a throwaway PostgreSQL cluster.
type cluster struct {
	binDir  string
	root    string // temp dir holding everything below
	dataDir string
	sockDir string
	logFile string
	port    int
	runAs   *user.User // non-nil when commands must run as another OS user
}

func (c *cluster) url(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// exec runs one statement on the maintenance database "postgres".
func (c *cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", c.url("postgres"), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// start initialises and starts a cluster, retrying with a new port when the
// server fails to start (another test binary may have grabbed the port).
func start(binDir string) (*cluster, error) {
	c := &cluster{binDir: binDir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup(osUser)
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL refuses to run as root and "+
				"there is no %q OS user to run it as: %w", osUser, err)
		}
		c.runAs = u
	}

	parent := tempParent(c.runAs != nil)
	reapStale(parent, c)

	root, err := os.MkdirTemp(parent, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating cluster directory: %w", err)
	}
	c.root = root
	c.dataDir = filepath.Join(root, "data")
	c.sockDir = filepath.Join(root, "sock")
	mu.Lock()
	current = c
	mu.Unlock()

	if err := c.prepare(); err != nil {
		return nil, err
	}

	var errs []error
	for try := 1; try <= startTries; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		c.port = port
		c.logFile = filepath.Join(root, fmt.Sprintf("server-%d.log", try))
		err = c.startServer()
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("attempt %d (port %d): %w", try, port, err))
		// A server that came up too slowly may still be running.
		_ = c.stopServer()
	}
	return nil, errors.Join(errs...)
}

// prepare creates the directory layout and runs initdb.
func (c *cluster) prepare() error {
	if err := os.WriteFile(filepath.Join(c.root, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("writing owner file: %w", err)
	}
	if err := os.Mkdir(c.sockDir, 0o700); err != nil {
		return fmt.Errorf("creating socket directory: %w", err)
	}
	if c.runAs != nil {
		uid, _ := strconv.Atoi(c.runAs.Uid)
		gid, _ := strconv.Atoi(c.runAs.Gid)
		for _, p := range []string{c.root, c.sockDir} {
			if err := os.Chown(p, uid, gid); err != nil {
				return fmt.Errorf("handing %s to the %s user: %w", p, osUser, err)
			}
		}
	}
	if err := os.Chmod(c.root, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", c.root, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.command(ctx, "initdb",
		"-D", c.dataDir,
		"-U", superuser,
		"--auth=trust",
		"-E", "UTF8",
		"--locale=C",
		"--no-sync", // only initdb's own writes; the server runs with fsync=on
		"--no-instructions",
	).CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// startServer runs pg_ctl start and waits for the server to accept connections.
func (c *cluster) startServer() error {
	opts := []string{
		"-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + shellQuote(c.sockDir),
	}
	opts = append(opts, serverOptions...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.command(ctx, "pg_ctl", "start",
		"-w", "-t", "60",
		"-D", c.dataDir,
		"-l", c.logFile,
		"-o", strings.Join(opts, " "),
	).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %w\n%s\nserver log %s (tail):\n%s",
			err, bytes.TrimSpace(out), c.logFile, tail(c.logFile, 20))
	}
	return nil
}

// stopServer stops the server without waiting for clients (-m immediate).
func (c *cluster) stopServer() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := c.command(ctx, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", c.dataDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, bytes.TrimSpace(out))
	}
	return nil
}

// teardown stops the current cluster, if any, and removes its directory.
func teardown() {
	mu.Lock()
	defer mu.Unlock()
	c := current
	current = nil
	if c == nil {
		return
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "postmaster.pid")); err == nil {
		if err := c.stopServer(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	if err := os.RemoveAll(c.root); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: removing %s: %v\n", c.root, err)
	}
}

// command builds an exec.Cmd running a PostgreSQL binary, as the postgres OS
// user when we are root (initdb and pg_ctl refuse to run as root).
func (c *cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append([]string{filepath.Join(c.binDir, name)}, args...)
	if c.runAs != nil {
		if runuser := findRunuser(); runuser != "" {
			argv = append([]string{runuser, "-u", c.runAs.Username, "--"}, argv...)
		} else {
			quoted := make([]string, len(argv))
			for i, a := range argv {
				quoted[i] = shellQuote(a)
			}
			argv = []string{"su", c.runAs.Username, "-s", "/bin/sh", "-c", "exec " + strings.Join(quoted, " ")}
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = c.root // the test's working directory may be unreadable for the postgres user
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// findRunuser returns the path of util-linux runuser, or "" if absent.
func findRunuser() string {
	if p, err := exec.LookPath("runuser"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/runuser", "/sbin/runuser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// tempParent returns the directory to create the cluster directory in. When
// the server runs as another OS user, every ancestor must be traversable by
// it; if $TMPDIR is not, /tmp is used.
func tempParent(otherUser bool) string {
	dir := os.TempDir()
	if !otherUser {
		return dir
	}
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if p == filepath.Dir(p) {
			return dir
		}
	}
}

// reapStale stops and removes clusters left behind in parent by test
// binaries that died without cleaning up (killed, or timed out).
func reapStale(parent string, like *cluster) {
	dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		stale := &cluster{binDir: like.binDir, runAs: like.runAs, root: dir, dataDir: filepath.Join(dir, "data")}
		if pm := postmasterPID(stale.dataDir); pm > 0 && processAlive(pm) {
			if err := stale.stopServer(); err != nil {
				continue // leave what we cannot stop alone
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// postmasterPID returns the server pid recorded in dataDir, or 0.
func postmasterPID(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// processAlive reports whether pid may still be running.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return !errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone)
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
