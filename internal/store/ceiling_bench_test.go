package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCeiling measures the database's own work for batch items on Tally's schema, with nothing
// of Tally around it: hand-written statements, one per row, each prepared once per chunk, in one
// SQLite transaction per chunk, over 100,000 customers who each received one credit (bare profiles;
// `tally bench` seeds full ones). Each item does the reads and writes its result depends on, with
// its result row, and no more: no decoding, no results built, no queue, no HTTP, and none of the
// engine's wider reads (a credit does not read the customer's lots and holds, as the engine's wallet
// does). The workloads run one after another on one database, so later ones meet more rows. It is
// what the database alone does for each type done the simplest way on this machine and schema, not
// an upper bound: multi-row statements, which Tally sends, can beat it. BENCHMARKS.md compares it
// with the targets and with Tally.
//
//	go test ./internal/store -run '^$' -bench Ceiling -benchtime 20x
func BenchmarkCeiling(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "ceiling.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := seedCeiling(ctx, db.write, ceilingCustomers); err != nil {
		b.Fatal(err)
	}
	c := &ceiling{db: db.write, rng: rand.New(rand.NewPCG(1, 2))}
	for _, w := range []struct {
		name string
		item ceilingItem
	}{
		{"customers", ceilingCustomer},
		{"balance-inquiry", ceilingInquiry},
		{"credit", ceilingCashback},
		{"orders", ceilingOrder},
		{"redeem", ceilingRedeem},
		{"events", ceilingEvent},
	} {
		for _, size := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/chunk=%d", w.name, size), func(b *testing.B) { c.chunks(b, w.item, size) })
		}
	}
}

// ceilingCustomers is how many customers the ceiling's items name at random: `tally bench`'s default.
const ceilingCustomers = 100_000

// ceilingItem does one item's database work for the customer; serial is unique to the item.
type ceilingItem func(ctx context.Context, tx *ceilingTx, customerID string, serial int64) error

// ceiling is the state the workloads share: the database, the random customers, the serials.
type ceiling struct {
	db     *sql.DB
	rng    *rand.Rand
	serial int64
}

// chunks applies b.N chunks of size items, each item with its result row, and the chunk's job
// progress, one transaction per chunk.
func (c *ceiling) chunks(b *testing.B, item ceilingItem, size int) {
	ctx := context.Background()
	for b.Loop() {
		err := inTx(ctx, c.db, func(tx *ceilingTx) error {
			// A new job row stands for the job's progress, which a chunk writes once.
			var job int64
			if err := tx.queryRow(ctx, `INSERT INTO batch_jobs (tenant_id, type, status, total_count, finished_count,
				body_hash, created_at) VALUES (1, 'ceiling', 'running', ?, ?, '', 0) RETURNING id`, size, size).Scan(&job); err != nil {
				return err
			}
			for i := range size {
				c.serial++
				if err := item(ctx, tx, fmt.Sprintf("c%06d", c.rng.IntN(ceilingCustomers)), c.serial); err != nil {
					return err
				}
				if _, err := tx.exec(ctx, `INSERT INTO batch_items (job_id, idx, status, result)
					VALUES (?, ?, 'succeeded', '{"status":"succeeded"}')`, job, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "items/s")
}

// seedCeiling makes a tenant and n customers, each with one 1,000,000-point credit.
func seedCeiling(ctx context.Context, db *sql.DB, n int) error {
	now := time.Now().UnixMicro()
	return inTx(ctx, db, func(tx *ceilingTx) error {
		if _, err := tx.exec(ctx, `INSERT INTO tenants (id, name, api_key_hash, secret_key_hash, created_at)
			VALUES (1, 'ceiling', 'a', 's', ?)`, now); err != nil {
			return err
		}
		for i := range n {
			ref := int64(i + 1)
			if _, err := tx.exec(ctx, `INSERT INTO customers (id, tenant_id, customer_id, created_at, updated_at)
				VALUES (?, 1, ?, ?, ?)`, ref, fmt.Sprintf("c%06d", i), now, now); err != nil {
				return err
			}
			if err := ceilingCredit(ctx, tx, ref, "fund", fmt.Sprintf("fund-%d", i), 1_000_000, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// ceilingCredit writes a credit as the engine does: its transaction, its lot, the lot's entry and the
// customer's lifetime total.
func ceilingCredit(ctx context.Context, tx *ceilingTx, ref int64, kind, transactionID string, points, now int64) error {
	var txn, lot int64
	err := tx.queryRow(ctx, `INSERT INTO point_transactions (tenant_id, customer_ref, transaction_id, kind,
		points, currency, transaction_time, created_at) VALUES (1, ?, ?, ?, ?, 'USD', ?, ?) RETURNING id`,
		ref, transactionID, kind, points, now, now).Scan(&txn)
	if err == nil {
		err = tx.queryRow(ctx, `INSERT INTO point_lots (customer_ref, transaction_ref, points, remaining,
			available_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			ref, txn, points, points, now, Never).Scan(&lot)
	}
	if err == nil {
		_, err = tx.exec(ctx, `INSERT INTO point_entries (customer_ref, transaction_ref, lot_ref, points, created_at)
			VALUES (?, ?, ?, ?, ?)`, ref, txn, lot, points, now)
	}
	if err == nil {
		_, err = tx.exec(ctx, `INSERT INTO point_accounts (customer_ref, lifetime_earned) VALUES (?, ?)
			ON CONFLICT (customer_ref) DO UPDATE SET lifetime_earned = point_accounts.lifetime_earned + excluded.lifetime_earned`,
			ref, points)
	}
	return err
}

// ceilingTransaction reads the customer's row id and checks that the transactionId is free, as
// every item that writes to the ledger does first.
func ceilingTransaction(ctx context.Context, tx *ceilingTx, customerID, transactionID string) (int64, error) {
	var ref int64
	var taken bool
	err := tx.queryRow(ctx, `SELECT id FROM customers WHERE tenant_id = 1 AND customer_id = ?`, customerID).Scan(&ref)
	if err == nil {
		err = tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM point_transactions WHERE tenant_id = 1 AND transaction_id = ?
			AND seq = 0)`, transactionID).Scan(&taken)
	}
	if err == nil && taken {
		err = fmt.Errorf("transaction %s taken", transactionID)
	}
	return ref, err
}

// ceilingCashback is a cashback's (or a positive balance adjustment's) database work: a credit.
func ceilingCashback(ctx context.Context, tx *ceilingTx, customerID string, serial int64) error {
	transactionID := fmt.Sprintf("cb%d", serial)
	ref, err := ceilingTransaction(ctx, tx, customerID, transactionID)
	if err == nil {
		err = ceilingCredit(ctx, tx, ref, "cashback", transactionID, 100, time.Now().UnixMicro())
	}
	return err
}

// ceilingOrder is an order's database work: its orderId checked free as an order's and a
// transaction's, the order's row and its reward credit.
func ceilingOrder(ctx context.Context, tx *ceilingTx, customerID string, serial int64) error {
	now := time.Now().UnixMicro()
	orderID := fmt.Sprintf("o%d", serial)
	var taken bool
	ref, err := ceilingTransaction(ctx, tx, customerID, orderID)
	if err == nil {
		err = tx.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE tenant_id = 1 AND order_id = ?)`, orderID).Scan(&taken)
	}
	if err == nil && taken {
		err = fmt.Errorf("order %s taken", orderID)
	}
	if err == nil {
		_, err = tx.exec(ctx, `INSERT INTO orders (tenant_id, customer_ref, order_id, order_date, currency,
			total_paid, line_items, extra, created_at) VALUES (1, ?, ?, ?, 'USD', 4550,
			'[{"productId":"p1","quantity":2,"price":1500},{"productId":"p2","quantity":1,"price":2000}]', '{}', ?)`,
			ref, orderID, now, now)
	}
	if err == nil {
		err = ceilingCredit(ctx, tx, ref, "order", orderID, 45, now)
	}
	return err
}

// ceilingRedeem is a redemption's database work: the customer's lots with points left read in
// spending order, the first one debited, and the debit's transaction and entry.
func ceilingRedeem(ctx context.Context, tx *ceilingTx, customerID string, serial int64) error {
	const points = 10
	now := time.Now().UnixMicro()
	transactionID := fmt.Sprintf("rd%d", serial)
	var txn, lot int64
	ref, err := ceilingTransaction(ctx, tx, customerID, transactionID)
	if err == nil {
		err = tx.queryRow(ctx, `SELECT id FROM point_lots WHERE customer_ref = ? AND remaining >= ?
			ORDER BY expires_at, available_at, id LIMIT 1`, ref, points).Scan(&lot)
	}
	if err == nil {
		_, err = tx.exec(ctx, `UPDATE point_lots SET remaining = remaining - ? WHERE id = ?`, points, lot)
	}
	if err == nil {
		err = tx.queryRow(ctx, `INSERT INTO point_transactions (tenant_id, customer_ref, transaction_id, kind, points,
			currency, transaction_time, created_at) VALUES (1, ?, ?, 'redeem', ?, 'USD', ?, ?) RETURNING id`,
			ref, transactionID, -points, now, now).Scan(&txn)
	}
	if err == nil {
		_, err = tx.exec(ctx, `INSERT INTO point_entries (customer_ref, transaction_ref, lot_ref, points, created_at)
			VALUES (?, ?, ?, ?, ?)`, ref, txn, lot, -points, now)
	}
	return err
}

// ceilingCustomer is a customer update's database work: the row read and written back.
func ceilingCustomer(ctx context.Context, tx *ceilingTx, customerID string, _ int64) error {
	var ref int64
	var email, attributes string
	err := tx.queryRow(ctx, `SELECT id, email, attributes FROM customers WHERE tenant_id = 1 AND customer_id = ?`,
		customerID).Scan(&ref, &email, &attributes)
	if err == nil {
		_, err = tx.exec(ctx, `UPDATE customers SET email = ?, attributes = ?, updated_at = ? WHERE id = ?`,
			customerID+"@example.com", `{"displayName":"Customer `+customerID+`","country":"EG","city":"Cairo","custom":{"tier":"gold"}}`,
			time.Now().UnixMicro(), ref)
	}
	return err
}

// ceilingEvent is an event's database work when no rule awards points for it: the customer read and
// the event's row.
func ceilingEvent(ctx context.Context, tx *ceilingTx, customerID string, _ int64) error {
	var ref int64
	err := tx.queryRow(ctx, `SELECT id FROM customers WHERE tenant_id = 1 AND customer_id = ?`, customerID).Scan(&ref)
	if err == nil {
		_, err = tx.exec(ctx, `INSERT INTO events (tenant_id, customer_ref, name, metadata, occurred_at)
			VALUES (1, ?, 'review_submitted', '{"rating":4,"productId":"p17"}', ?)`, ref, time.Now().UnixMicro())
	}
	return err
}

// ceilingInquiry is a balance inquiry's database work: read the customer, its lots with points left,
// its active holds and its lifetime total.
func ceilingInquiry(ctx context.Context, tx *ceilingTx, customerID string, _ int64) error {
	var ref, available, held, earned int64
	err := tx.queryRow(ctx, `SELECT id FROM customers WHERE tenant_id = 1 AND customer_id = ?`, customerID).Scan(&ref)
	if err == nil {
		err = tx.queryRow(ctx, `SELECT COALESCE(SUM(remaining), 0) FROM point_lots WHERE customer_ref = ? AND remaining > 0`,
			ref).Scan(&available)
	}
	if err == nil {
		err = tx.queryRow(ctx, `SELECT COALESCE(SUM(points), 0) FROM point_holds WHERE customer_ref = ? AND status = 'active'`,
			ref).Scan(&held)
	}
	if err == nil {
		err = tx.queryRow(ctx, `SELECT lifetime_earned FROM point_accounts WHERE customer_ref = ?`, ref).Scan(&earned)
	}
	return err
}

// ceilingTx is a transaction whose statements are each prepared when first run in it.
type ceilingTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

// stmt returns the query's statement, prepared in the transaction the first time.
func (tx *ceilingTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[query]; ok {
		return st, nil
	}
	st, err := tx.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", query, err)
	}
	tx.stmts[query] = st
	return st, nil
}

// exec runs a statement that returns no rows.
func (tx *ceilingTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// ceilingRow is a row to scan, or the error that kept the query from running.
type ceilingRow struct {
	row *sql.Row
	err error
}

// Scan copies the row's columns into dest.
func (r ceilingRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.row.Scan(dest...)
}

// queryRow runs a query that returns one row.
func (tx *ceilingTx) queryRow(ctx context.Context, query string, args ...any) ceilingRow {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return ceilingRow{err: err}
	}
	return ceilingRow{row: st.QueryRowContext(ctx, args...)}
}

// inTx runs fn in a transaction of db, committed when fn succeeds.
func inTx(ctx context.Context, db *sql.DB, fn func(tx *ceilingTx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(&ceilingTx{tx: tx, stmts: map[string]*sql.Stmt{}}); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}
