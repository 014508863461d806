// Package store is Tally's persistence: one *DB over either an embedded SQLite file or a PostgreSQL
// server, with the schema migrations for both and the SQL that every feature runs.
//
// The two databases share one implementation. Queries are written once with `?` placeholders in the
// SQL both engines accept; the Dialect rewrites placeholders for PostgreSQL and supplies the few
// clauses that differ (row locks, upsert of counters). Keeping one copy of each query is what keeps
// the two databases behaving alike; the conformance suite in storetest runs against both.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database engine behind a DB.
type Dialect int

// The supported engines.
const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is an open Tally database.
type DB struct {
	dialect Dialect
	// write runs every write transaction. On SQLite it holds a single connection whose transactions
	// begin IMMEDIATE: writers queue in Go instead of failing with SQLITE_BUSY, and River shares it.
	write *sql.DB
	// read serves read-only transactions; on SQLite several WAL readers run beside the writer.
	read *sql.DB
	// shared keeps SQLite write transactions' statements prepared across transactions.
	shared statements
	// turns orders the transactions waiting for SQLite's writer.
	turns writeTurns
	// checkpoints copies SQLite's log into the database file beside the writer; nil on PostgreSQL.
	checkpoints *checkpointer
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn (a SQLite file path, or a postgres:// URL) and applies the
// schema migrations.
func Open(ctx context.Context, dsn string) (*DB, error) {
	db, err := open(dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func open(dsn string) (*DB, error) {
	if IsPostgres(dsn) {
		pool, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		pool.SetMaxOpenConns(32)
		pool.SetMaxIdleConns(32)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		return &DB{dialect: Postgres, write: pool, read: pool}, nil
	}
	path := strings.TrimPrefix(dsn, "sqlite://")
	pragmas := "&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)" +
		"&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)"
	write, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?_txlock=immediate&_pragma=journal_mode(WAL)"+
		pragmas+"&_pragma=wal_autocheckpoint(100000)")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	// Make the file and switch it to WAL before the readers open it.
	if err := write.Ping(); err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?_pragma=query_only(1)"+pragmas)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open sqlite %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(max(4, runtime.NumCPU()*2))
	checkpoints, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?"+strings.TrimPrefix(pragmas, "&"))
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("store: open sqlite %s for checkpoints: %w", path, err)
	}
	checkpoints.SetMaxOpenConns(1)
	db := &DB{dialect: SQLite, write: write, read: read}
	db.checkpoints = startCheckpointer(checkpoints, &db.turns)
	return db, nil
}

// Dialect reports the engine behind db.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL returns the pool that write transactions use; the job queue runs on it.
func (db *DB) SQL() *sql.DB { return db.write }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Close closes every connection.
func (db *DB) Close() error {
	err := errors.Join(db.shared.close(), db.write.Close())
	if db.checkpoints != nil {
		err = errors.Join(err, db.checkpoints.close())
	}
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Tx is a database transaction. Its query methods take SQL with `?` placeholders.
type Tx struct {
	tx       *sql.Tx
	dialect  Dialect
	readOnly bool
	// stmts holds the statements prepared in the transaction, by query text, on SQLite only: a batch
	// chunk runs the same few statements for every one of its items, and SQLite spends more time
	// parsing a statement than running it (BENCHMARKS.md). PostgreSQL's driver already keeps the
	// statements of each connection prepared.
	stmts map[string]*sql.Stmt
	// shared is the database's statements kept prepared across write transactions (SQLite), and
	// unshared the queries this transaction prepared for itself.
	shared   *statements
	unshared []string
	// turns is the queue for SQLite's writer, which a write transaction there holds.
	turns *writeTurns
	// unit holds what the transaction has read and the rows it has yet to send (unit.go).
	unit *unit
	// err is the first failure to send the unit's rows before a QueryRow, which cannot return it;
	// the transaction then rolls back.
	err error
}

// stmt returns query prepared in the transaction on SQLite, preparing it the first time; nil on
// PostgreSQL. The rows of a query must be closed before the same query runs again in the
// transaction, as they always are in this package.
func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if tx.dialect != SQLite {
		return nil, nil
	}
	if st, ok := tx.stmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if shared := tx.sharedStmt(query); shared != nil {
		st = tx.tx.StmtContext(ctx, shared)
	} else {
		var err error
		if st, err = tx.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		if tx.shared != nil {
			tx.unshared = append(tx.unshared, query)
		}
	}
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[query] = st
	return st, nil
}

func (tx *Tx) sharedStmt(query string) *sql.Stmt {
	if tx.shared == nil {
		return nil
	}
	return tx.shared.get(query)
}

// Write runs fn in a write transaction and commits it when fn returns nil. On PostgreSQL the
// transaction is READ COMMITTED; a customer read in it is locked (FOR UPDATE) until it ends, so
// balance changes of one customer never interleave. When the transaction's rows meet a key a
// concurrent one took first (ErrConflict), fn runs again in a new transaction, at most
// maxWriteAttempts times in all: fn must change nothing but the database through tx.
func (db *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	return db.writeAs(ctx, false, fn)
}

// WriteBackground is Write for work nobody waits on as it happens, batch chunks: on SQLite, whose
// single writer runs one transaction at a time, Write calls waiting at the same moment go first.
func (db *DB) WriteBackground(ctx context.Context, fn func(*Tx) error) error {
	return db.writeAs(ctx, true, fn)
}

func (db *DB) writeAs(ctx context.Context, background bool, fn func(*Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.writeOnce(ctx, background, fn)
		if !errors.Is(err, ErrConflict) || attempt == maxWriteAttempts {
			return err
		}
	}
}

func (db *DB) writeOnce(ctx context.Context, background bool, fn func(*Tx) error) error {
	if db.dialect == SQLite {
		if err := db.turns.take(ctx, background); err != nil {
			return fmt.Errorf("store: wait for the writer: %w", err)
		}
		defer db.turns.give()
	}
	return db.run(ctx, db.write, false, fn)
}

// Read runs fn in a read-only transaction that sees one snapshot.
func (db *DB) Read(ctx context.Context, fn func(*Tx) error) error {
	return db.run(ctx, db.read, true, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, readOnly bool, fn func(*Tx) error) error {
	var opts *sql.TxOptions
	if readOnly && db.dialect == Postgres {
		// The modernc driver rejects these options; its reader pool is query_only instead.
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		// A panicking fn must not leave the transaction open: on SQLite it would hold the only
		// write connection for good.
		if p := recover(); p != nil {
			_ = sqlTx.Rollback() // the panic goes on; its rollback error would hide it
			panic(p)
		}
	}()
	tx := &Tx{tx: sqlTx, dialect: db.dialect, readOnly: readOnly}
	if db.dialect == SQLite && !readOnly {
		tx.shared, tx.turns = &db.shared, &db.turns
	}
	err = fn(tx)
	if err == nil {
		err = tx.flush(ctx)
	}
	if tx.err != nil {
		err = errors.Join(tx.err, err)
	}
	if err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("store: rollback: %w", rbErr))
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	db.shared.share(db.write, tx.unshared)
	return nil
}

// WritersWaiting reports whether foreground writes (Write) wait for SQLite's single writer, which
// this transaction holds: a long background transaction can end early to let them in. It is always
// false on PostgreSQL, where writers do not wait for each other's transactions.
func (tx *Tx) WritersWaiting() bool {
	return tx.turns != nil && tx.turns.waiting()
}

// Dialect reports the engine the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// SQL returns the underlying *sql.Tx, for libraries that join the transaction (the job queue).
// Statements run on it bypass the unit: they neither see its unsent rows nor make it forget what
// it read, so they must touch none of the tables the unit keeps.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// Exec runs a statement after sending the unit's rows, and then makes the unit forget what it
// read, which the statement may have changed.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := tx.execKept(ctx, query, args...)
	tx.unitOf().forget()
	return res, err
}

// execKept runs a statement after sending the unit's rows, like Exec, but leaves the unit what it
// read: for the store's own statements whose effect on it the caller applies to it as well, so that
// one hold ended or lot activated in a batch chunk does not make the rest of the chunk read its
// customers again one by one.
func (tx *Tx) execKept(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	res, err := tx.rawExec(ctx, query, args...)
	tx.unitOf().changes++
	return res, err
}

// Query runs a query returning rows, after sending the unit's rows so that it sees them.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	return tx.rawQuery(ctx, query, args...)
}

// QueryRow runs a query returning at most one row, after sending the unit's rows so that it sees
// them; a failure to send them fails the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if err := tx.flush(ctx); err != nil && tx.err == nil {
		tx.err = err
	}
	return tx.rawQueryRow(ctx, query, args...)
}

func (tx *Tx) rawExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st != nil:
		return st.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, tx.dialect.Rebind(query), args...)
}

func (tx *Tx) rawQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := tx.stmt(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st != nil:
		return st.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, tx.dialect.Rebind(query), args...)
}

// rawQueryRow runs a query returning at most one row. A query that cannot be prepared runs
// unprepared, so that its error comes out of Scan as the caller expects.
func (tx *Tx) rawQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, err := tx.stmt(ctx, query); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, tx.dialect.Rebind(query), args...)
}

// ForUpdate is the row-lock clause to append to a SELECT that precedes an update of the same rows:
// " FOR UPDATE" in a PostgreSQL write transaction, nothing on SQLite, whose single writer already
// excludes the others, nor in a read-only transaction.
func (tx *Tx) ForUpdate() string {
	if tx.dialect == Postgres && !tx.readOnly {
		return " FOR UPDATE"
	}
	return ""
}

var rebound sync.Map // query text -> PostgreSQL text

// Rebind rewrites `?` placeholders to `$1, $2, ...` for PostgreSQL; SQLite takes the query as it is.
// Question marks inside single-quoted literals are left alone.
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n, quoted := 0, false
	for _, r := range query {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '?' && !quoted:
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	q := b.String()
	rebound.Store(query, q)
	return q
}

// IsUniqueViolation reports whether err is a unique-constraint violation on either database.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Micros converts t to the integer microseconds since the Unix epoch that every time column holds;
// integers sort and compare the same on both databases.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros is the inverse of Micros, in UTC.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
