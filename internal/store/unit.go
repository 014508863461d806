package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// The unit of work.
//
// An item of a batch needs ten or so statements when each read and write runs on its own, and on
// both databases the statements, not the work in them, are most of the cost (BENCHMARKS.md). So a
// Tx keeps a unit: the customers, wallets, transaction ids and programs it has read, kept up to date
// by its own writes, and the ledger rows it has written but not yet sent. Reads of those are
// answered from memory; the rows go to the database in one multi-row statement per table before any
// other statement runs in the transaction (so every query sees them), when a step ends
// (Savepoints.Run) and at commit. Prefetch reads a whole chunk's customers and wallets with one
// statement per table. A single call runs through the same code; its unit just holds one customer.
//
// Ids of new rows are drawn when the row is written to the unit, since later rows refer to them:
// on SQLite from the table's AUTOINCREMENT counter (the single writer makes that safe), on
// PostgreSQL from the column's sequence. Statements run outside the unit (Exec) send its rows first
// and then make it forget what it read, since they may have changed it.

// ErrConflict is returned when the rows of a transaction's unit could not be written because a
// concurrent transaction took one of their unique keys (a new customer's id, a transactionId) after
// the unit read it as free. DB.Write runs the transaction again, and the new attempt sees the other
// transaction's rows.
var ErrConflict = errors.New("store: concurrent write of the same key")

// maxWriteAttempts bounds how often DB.Write runs a transaction that ends in ErrConflict.
const maxWriteAttempts = 3

type customerKey struct {
	tenantID   int64
	customerID string
}

type txnKey struct {
	tenantID      int64
	transactionID string
	seq           int
}

// customerState is a customer row as the transaction sees it.
type customerState struct {
	tenantID    int64
	c           loyalty.Customer // GameballID is the row's id; Attributes and Tags once decoded
	decoded     bool
	attrs, tags string // the JSON columns as read, or as to be written when dirty
	dirty       bool   // to be written
}

// row is the customer as its columns hold it.
func (st *customerState) row() customerRow {
	return customerRow{c: st.c, attrs: st.attrs, tags: st.tags}
}

// walletState is what the transaction knows of one customer's points; each part is read when first
// needed.
type walletState struct {
	lots        []*Lot // lots with points left when read, and those credited since
	lotsLoaded  bool
	holds       []Hold // holds whose status was active when read
	holdsLoaded bool
	earned      int64 // lifetime earned points as read
	earnedKnown bool
	earnedDelta int64 // added since the last write
	earnedDirty bool
}

type entryRow struct{ customerRef, transactionRef, lotRef, points, at int64 }

type eventRow struct {
	id, tenantID, customerRef int64
	name, metadata            string
	at                        int64
}

type awardRow struct {
	eventRef, customerRef int64
	ruleID                string
	points                int64
	transactionID         string
	at                    int64
}

// unit is a transaction's unit of work; see above.
type unit struct {
	// changes counts writes, to the unit or around it; a batch step compares it before and after an
	// item to tell whether the item left anything behind.
	changes   uint64
	programs  map[int64]string
	customers map[customerKey]*customerState // nil: known not to exist
	wallets   map[int64]*walletState
	taken     map[txnKey]bool      // transactionIds known to be taken (true) or free
	orderIDs  map[customerKey]bool // orderIds likewise
	ids       map[string]*idPool
	// idBlock is how many ids a table's first draw takes on PostgreSQL: one for a single call,
	// the item count of the first Prefetch (a chunk's first read-ahead group) otherwise, so that a
	// chunk draws each table's ids in a few statements and a single call leaves no gap in them.
	idBlock int

	rows     pendingRows
	lotDirty map[*Lot]bool // the lots in rows.lots
}

// pendingRows are the rows written to a unit and not yet sent.
type pendingRows struct {
	customers []*customerState
	txns      []Txn
	lots      []*Lot
	entries   []entryRow
	orders    []OrderRow
	wallets   []int64 // customers whose lifetime total changed
	events    []eventRow
	awards    []awardRow
}

func (p *pendingRows) empty() bool {
	return len(p.customers)+len(p.txns)+len(p.lots)+len(p.entries)+len(p.orders)+len(p.wallets)+
		len(p.events)+len(p.awards) == 0
}

// idPool hands out the ids drawn for one table: on SQLite a counter, on PostgreSQL a block of
// sequence values.
type idPool struct {
	next  int64   // SQLite: the next id
	block []int64 // PostgreSQL: drawn and not yet used
	size  int     // PostgreSQL: how many to draw next time
}

func (tx *Tx) unitOf() *unit {
	if tx.unit == nil {
		tx.unit = &unit{}
		tx.unit.forget()
	}
	return tx.unit
}

// forget drops everything read; the unit must hold no unwritten rows.
func (u *unit) forget() {
	if u.programs == nil {
		u.programs, u.customers, u.wallets = map[int64]string{}, map[customerKey]*customerState{}, map[int64]*walletState{}
		u.taken, u.orderIDs, u.ids, u.lotDirty = map[txnKey]bool{}, map[customerKey]bool{}, map[string]*idPool{}, map[*Lot]bool{}
		return
	}
	clear(u.programs)
	clear(u.customers)
	clear(u.wallets)
	clear(u.taken)
	clear(u.orderIDs)
	clear(u.ids)
	clear(u.lotDirty)
}

// drop discards the unwritten rows along with everything read, after a rollback undid what the
// unit was based on.
func (u *unit) drop() {
	u.rows = pendingRows{}
	u.forget()
	u.changes++
}

func (u *unit) pending() bool { return !u.rows.empty() }

// Changes counts the writes made in the transaction so far; it grows with every one.
func (tx *Tx) Changes() uint64 { return tx.unitOf().changes }

// newID draws the id of a new row of table.
func (tx *Tx) newID(ctx context.Context, table string) (int64, error) {
	u := tx.unitOf()
	p := u.ids[table]
	if p == nil {
		p = &idPool{size: max(u.idBlock, 1)}
		if tx.dialect == SQLite {
			var seq int64
			err := tx.rawQueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = ?`, table).Scan(&seq)
			if err != nil {
				return 0, fmt.Errorf("store: next id of %s: %w", table, err)
			}
			p.next = seq + 1
		}
		u.ids[table] = p
	}
	if tx.dialect == SQLite {
		p.next++
		return p.next - 1, nil
	}
	if len(p.block) == 0 {
		rows, err := tx.rawQuery(ctx, `SELECT nextval(pg_get_serial_sequence(?, 'id')) FROM generate_series(1, ?)`, table, p.size)
		if err != nil {
			return 0, fmt.Errorf("store: draw ids of %s: %w", table, err)
		}
		p.block, err = scanAll(rows, func(r *sql.Rows) (int64, error) { var id int64; return id, r.Scan(&id) })
		if err != nil {
			return 0, fmt.Errorf("store: draw ids of %s: %w", table, err)
		}
		p.size = min(2*p.size, 1024)
	}
	id := p.block[0]
	p.block = p.block[1:]
	return id, nil
}

// scanAll reads every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// keyPlaceholder stands, in a query given to queryPerKey, for the value being looked up.
const keyPlaceholder = "{key}"

// queryPerKey runs query once for each of values (all strings or all int64s, at most a few hundred)
// and returns all the rows. The query's last placeholder must be its comparison `= {key}`; args
// fill the `?` before it. On PostgreSQL the values go as one array, each looked up by index in a
// LATERAL subquery, whatever the planner's statistics say: a table filled since it was last
// analyzed otherwise gets plans that scan all of the tenant's rows, where the statistics promise
// one (BENCHMARKS.md). On SQLite they go as a JSON array into an IN list, which SQLite looks up by
// index too. Either way the statement's text does not depend on how many values there are, so it
// stays prepared. With lock, the rows are locked FOR UPDATE on PostgreSQL, in the order of values.
func (tx *Tx) queryPerKey(ctx context.Context, query string, lock bool, values []any, args ...any) (*sql.Rows, error) {
	_, text := values[0].(string)
	if tx.dialect == Postgres {
		keys, array := `unnest(?::text[])`, any(nil)
		if text {
			array = arrayOf[string](values)
		} else {
			keys, array = `unnest(?::bigint[])`, arrayOf[int64](values)
		}
		inner := strings.Replace(query, keyPlaceholder, "k.v", 1) + ` OFFSET 0`
		if lock {
			inner += tx.ForUpdate()
		}
		return tx.rawQuery(ctx, `SELECT x.* FROM `+keys+` AS k(v) CROSS JOIN LATERAL (`+inner+`) AS x`,
			append([]any{array}, args...)...)
	}
	list, err := json.Marshal(values)
	if err != nil { // strings and integers always encode
		return nil, fmt.Errorf("store: encode keys: %w", err)
	}
	return tx.rawQuery(ctx, strings.Replace(query, "= "+keyPlaceholder, "IN (SELECT value FROM json_each(?))", 1),
		append(args, string(list))...)
}

func arrayOf[T any](values []any) []T {
	out := make([]T, len(values))
	for i, v := range values {
		out[i] = v.(T)
	}
	return out
}

// PrefetchKeys names what Prefetch reads ahead: the tenant's customers with the ids, whether their
// points too, and which of the transactionIds and orderIds are taken.
type PrefetchKeys struct {
	CustomerIDs, TransactionIDs, OrderIDs []string
	// Points asks for the customers' lots, holds and lifetime totals; operations that never read a
	// customer's points (profiles, events no rule awards points for) go without.
	Points bool
}

// Prefetch reads, in a few statements, what the operations on the keys will read one by one: the
// customers (locked on PostgreSQL), their lots, holds and lifetime totals when asked, and which
// transactionIds and orderIds are taken. A batch chunk calls it before each group of its items; it
// changes nothing an operation sees, reads nothing the unit already knows, and what it leaves out
// is read when an operation first needs it.
func (tx *Tx) Prefetch(ctx context.Context, tenantID int64, k PrefetchKeys) error {
	tx.unitOf().idBlock = max(len(k.CustomerIDs), len(k.TransactionIDs))
	if err := tx.loadCustomers(ctx, tenantID, k.CustomerIDs); err != nil {
		return err
	}
	var points error
	if k.Points {
		points = tx.loadPoints(ctx, tenantID, k.CustomerIDs)
	}
	return errors.Join(points, tx.loadTaken(ctx, tenantID, 0, k.TransactionIDs), tx.loadOrderIDs(ctx, tenantID, k.OrderIDs))
}

// loadPoints reads the lots, holds and lifetime totals of those of the tenant's customers with the
// ids that the unit knows to exist.
func (tx *Tx) loadPoints(ctx context.Context, tenantID int64, customerIDs []string) error {
	u := tx.unitOf()
	var refs []int64
	for _, id := range customerIDs {
		if st := u.customers[customerKey{tenantID, id}]; st != nil {
			refs = append(refs, st.c.GameballID)
		}
	}
	slices.Sort(refs)
	refs = slices.Compact(refs)
	return errors.Join(tx.loadLots(ctx, refs), tx.loadHolds(ctx, refs), tx.loadEarned(ctx, refs))
}

// unknownIDs returns the distinct non-empty ids that known does not hold.
func unknownIDs(ids []string, known func(string) bool) []string {
	seen := make(map[string]bool, len(ids))
	var out []string
	for _, id := range ids {
		if id != "" && !seen[id] && !known(id) {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// inChunks calls fn with the values in slices small enough for one statement.
func inChunks[T any](values []T, fn func([]T) error) error {
	const perStatement = 500
	for start := 0; start < len(values); start += perStatement {
		if err := fn(values[start:min(start+perStatement, len(values))]); err != nil {
			return err
		}
	}
	return nil
}

func anys[T any](values []T) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// loadCustomers reads the tenant's customers with the ids the unit does not know yet, and records
// those that do not exist.
func (tx *Tx) loadCustomers(ctx context.Context, tenantID int64, ids []string) error {
	u := tx.unitOf()
	unknown := unknownIDs(ids, func(id string) bool { _, ok := u.customers[customerKey{tenantID, id}]; return ok })
	// PostgreSQL locks the rows in this order; any order works as long as every chunk uses it.
	slices.Sort(unknown)
	return inChunks(unknown, func(ids []string) error {
		rows, err := tx.queryPerKey(ctx, `SELECT `+customerColumns+` FROM customers WHERE tenant_id = ? AND customer_id = {key}`,
			true, anys(ids), tenantID)
		if err != nil {
			return fmt.Errorf("store: read customers: %w", err)
		}
		found, err := scanAll(rows, func(r *sql.Rows) (customerRow, error) { return scanCustomerRow(r) })
		if err != nil {
			return fmt.Errorf("store: read customers: %w", err)
		}
		for _, id := range ids {
			u.customers[customerKey{tenantID, id}] = nil
		}
		for _, r := range found {
			u.customers[customerKey{tenantID, r.c.CustomerID}] = &customerState{tenantID: tenantID, c: r.c, attrs: r.attrs, tags: r.tags}
		}
		return nil
	})
}

// customer returns the state of the tenant's customer, reading it when unknown; nil when there is
// no such customer.
func (tx *Tx) customer(ctx context.Context, tenantID int64, customerID string) (*customerState, error) {
	k := customerKey{tenantID, customerID}
	u := tx.unitOf()
	if st, ok := u.customers[k]; ok {
		return st, nil
	}
	if err := tx.loadCustomers(ctx, tenantID, []string{customerID}); err != nil {
		return nil, err
	}
	return u.customers[k], nil
}

// wallet returns what the unit knows of the customer's points.
func (u *unit) wallet(customerRef int64) *walletState {
	w := u.wallets[customerRef]
	if w == nil {
		w = &walletState{}
		u.wallets[customerRef] = w
	}
	return w
}

// loadWalletPart reads one part of the wallets of the refs the unit does not know it for yet: read
// returns that part's rows for some refs; each of their wallets is emptied of the part (empty) and
// marked known, then each row is filed into its customer's wallet (file).
func loadWalletPart[T any](u *unit, refs []int64, known func(*walletState) *bool, read func([]int64) ([]T, error),
	empty func(*walletState), file func(T)) error {
	var unknown []int64
	for _, ref := range refs {
		if !*known(u.wallet(ref)) {
			unknown = append(unknown, ref)
		}
	}
	return inChunks(unknown, func(refs []int64) error {
		rows, err := read(refs)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			w := u.wallet(ref)
			empty(w)
			*known(w) = true
		}
		for _, row := range rows {
			file(row)
		}
		return nil
	})
}

func (tx *Tx) loadLots(ctx context.Context, refs []int64) error {
	u := tx.unitOf()
	read := func(refs []int64) ([]*Lot, error) {
		rows, err := tx.queryPerKey(ctx, `SELECT id, customer_ref, transaction_ref, points, remaining, available_at, expires_at
			FROM point_lots WHERE remaining > 0 AND customer_ref = {key}`, false, anys(refs))
		if err != nil {
			return nil, fmt.Errorf("store: read lots: %w", err)
		}
		lots, err := scanAll(rows, func(r *sql.Rows) (*Lot, error) {
			var l Lot
			return &l, r.Scan(&l.ID, &l.CustomerRef, &l.TransactionRef, &l.Points, &l.Remaining, &l.AvailableAt, &l.ExpiresAt)
		})
		if err != nil {
			return nil, fmt.Errorf("store: read lots: %w", err)
		}
		return lots, nil
	}
	return loadWalletPart(u, refs, func(w *walletState) *bool { return &w.lotsLoaded }, read,
		func(w *walletState) { w.lots = nil },
		func(l *Lot) { w := u.wallet(l.CustomerRef); w.lots = append(w.lots, l) })
}

func (tx *Tx) loadHolds(ctx context.Context, refs []int64) error {
	u := tx.unitOf()
	read := func(refs []int64) ([]Hold, error) {
		perKey := func(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
			return tx.queryPerKey(ctx, query, false, anys(refs), args...)
		}
		return queryHolds(ctx, perKey, `WHERE h.status = ? AND h.customer_ref = {key}`, HoldStatusActive)
	}
	return loadWalletPart(u, refs, func(w *walletState) *bool { return &w.holdsLoaded }, read,
		func(w *walletState) { w.holds = nil },
		func(h Hold) { w := u.wallet(h.CustomerRef); w.holds = append(w.holds, h) })
}

// account is a row of point_accounts.
type account struct{ ref, earned int64 }

func (tx *Tx) loadEarned(ctx context.Context, refs []int64) error {
	u := tx.unitOf()
	read := func(refs []int64) ([]account, error) {
		rows, err := tx.queryPerKey(ctx, `SELECT customer_ref, lifetime_earned FROM point_accounts WHERE customer_ref = {key}`,
			false, anys(refs))
		if err != nil {
			return nil, fmt.Errorf("store: read lifetime earned: %w", err)
		}
		accounts, err := scanAll(rows, func(r *sql.Rows) (account, error) {
			var a account
			return a, r.Scan(&a.ref, &a.earned)
		})
		if err != nil {
			return nil, fmt.Errorf("store: read lifetime earned: %w", err)
		}
		return accounts, nil
	}
	return loadWalletPart(u, refs, func(w *walletState) *bool { return &w.earnedKnown }, read,
		func(w *walletState) { w.earned = 0 },
		func(a account) { u.wallet(a.ref).earned = a.earned })
}

// loadTaken records which of the tenant's transactionIds a transaction already has with seq (the
// first row of an operation has seq 0).
func (tx *Tx) loadTaken(ctx context.Context, tenantID int64, seq int, ids []string) error {
	return loadIDs(ctx, tx, `SELECT transaction_id FROM point_transactions WHERE tenant_id = ? AND seq = ? AND `,
		"transaction_id", []any{tenantID, seq}, ids, tx.unitOf().taken, func(id string) txnKey { return txnKey{tenantID, id, seq} })
}

// loadOrderIDs records which of the tenant's orderIds an order already has.
func (tx *Tx) loadOrderIDs(ctx context.Context, tenantID int64, ids []string) error {
	return loadIDs(ctx, tx, `SELECT order_id FROM orders WHERE tenant_id = ? AND `, "order_id", []any{tenantID}, ids,
		tx.unitOf().orderIDs, func(id string) customerKey { return customerKey{tenantID, id} })
}

// loadIDs runs query, which selects column and ends where the condition on it goes (args fill the
// query's placeholders), for the ids whose key known does not hold yet, and records in known
// whether it found each.
func loadIDs[K comparable](ctx context.Context, tx *Tx, query, column string, args []any, ids []string,
	known map[K]bool, key func(string) K) error {
	unknown := unknownIDs(ids, func(id string) bool { _, ok := known[key(id)]; return ok })
	return inChunks(unknown, func(ids []string) error {
		rows, err := tx.queryPerKey(ctx, query+column+` = {key}`, false, anys(ids), args...)
		if err != nil {
			return fmt.Errorf("store: look up %s: %w", column, err)
		}
		found, err := scanAll(rows, func(r *sql.Rows) (string, error) { var id string; return id, r.Scan(&id) })
		if err != nil {
			return fmt.Errorf("store: look up %s: %w", column, err)
		}
		for _, id := range ids {
			known[key(id)] = false
		}
		for _, id := range found {
			known[key(id)] = true
		}
		return nil
	})
}

// markCustomer queues the customer's row to be written.
func (u *unit) markCustomer(st *customerState) {
	if !st.dirty {
		st.dirty = true
		u.rows.customers = append(u.rows.customers, st)
	}
	u.changes++
}

func (u *unit) markLot(l *Lot) {
	if !u.lotDirty[l] {
		u.lotDirty[l] = true
		u.rows.lots = append(u.rows.lots, l)
	}
	u.changes++
}

// flush writes the unit's rows, one multi-row statement per table, parents first.
func (tx *Tx) flush(ctx context.Context) error {
	u := tx.unit
	if u == nil || !u.pending() {
		return nil
	}
	err := tx.flushCustomers(ctx)
	if err == nil {
		err = tx.flushLedger(ctx)
	}
	if err == nil {
		err = tx.flushEvents(ctx)
	}
	if IsUniqueViolation(err) {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("store: write: %w", err)
	}
	for _, st := range u.rows.customers {
		st.dirty = false
	}
	for _, ref := range u.rows.wallets {
		w := u.wallets[ref]
		w.earned += w.earnedDelta
		w.earnedDelta, w.earnedDirty = 0, false
	}
	clear(u.lotDirty)
	u.rows = pendingRows{}
	return nil
}

func (tx *Tx) flushCustomers(ctx context.Context) error {
	var args []any
	for _, st := range tx.unit.rows.customers {
		c := &st.c
		args = append(args, c.GameballID, st.tenantID, c.CustomerID, c.Email, c.Mobile, c.Guest, st.attrs, st.tags,
			Micros(c.CreatedAt), Micros(c.UpdatedAt))
	}
	return tx.insertRows(ctx, `INSERT INTO customers (id, tenant_id, customer_id, email, mobile, guest, attributes, tags,
		created_at, updated_at)`, 10, ` ON CONFLICT (id) DO UPDATE SET email = excluded.email, mobile = excluded.mobile,
		guest = excluded.guest, attributes = excluded.attributes, tags = excluded.tags, updated_at = excluded.updated_at`, args)
}

func (tx *Tx) flushLedger(ctx context.Context) error {
	u := tx.unit
	var args []any
	for _, t := range u.rows.txns {
		args = append(args, t.ID, t.TenantID, t.CustomerRef, nullable(t.TransactionID), t.Seq, t.Kind, t.Points, t.Amount,
			t.Currency, t.Reason, t.Username, t.Time, t.CreatedAt, nullable(t.AvailableAt), nullable(t.ExpiresAt),
			nullable(t.Reverses))
	}
	err := tx.insertRows(ctx, `INSERT INTO point_transactions (id, tenant_id, customer_ref, transaction_id, seq, kind,
		points, amount, currency, reason, username, transaction_time, created_at, available_at, expires_at, reverses)`, 16, ``, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for _, l := range u.rows.lots {
		args = append(args, l.ID, l.CustomerRef, l.TransactionRef, l.Points, l.Remaining, l.AvailableAt, l.ExpiresAt)
	}
	err = tx.insertRows(ctx, `INSERT INTO point_lots (id, customer_ref, transaction_ref, points, remaining, available_at,
		expires_at)`, 7, ` ON CONFLICT (id) DO UPDATE SET remaining = excluded.remaining`, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for _, e := range u.rows.entries {
		args = append(args, e.customerRef, e.transactionRef, e.lotRef, e.points, e.at)
	}
	err = tx.insertRows(ctx, `INSERT INTO point_entries (customer_ref, transaction_ref, lot_ref, points, created_at)`, 5, ``, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for _, o := range u.rows.orders {
		args = append(args, o.TenantID, o.CustomerRef, o.OrderID, o.OrderDate, o.Currency, o.TotalPaid, o.TotalPrice,
			o.TotalDiscount, o.TotalShipping, o.TotalTax, o.LineItems, o.Extra, o.Channel, o.CartID, o.CreatedAt)
	}
	err = tx.insertRows(ctx, `INSERT INTO orders (tenant_id, customer_ref, order_id, order_date, currency, total_paid,
		total_price, total_discount, total_shipping, total_tax, line_items, extra, channel, cart_id, created_at)`, 15, ``, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for _, ref := range u.rows.wallets {
		args = append(args, ref, u.wallets[ref].earnedDelta)
	}
	return tx.insertRows(ctx, `INSERT INTO point_accounts (customer_ref, lifetime_earned)`, 2,
		` ON CONFLICT (customer_ref) DO UPDATE SET lifetime_earned = point_accounts.lifetime_earned + excluded.lifetime_earned`, args)
}

func (tx *Tx) flushEvents(ctx context.Context) error {
	u := tx.unit
	var args []any
	for _, e := range u.rows.events {
		args = append(args, e.id, e.tenantID, e.customerRef, e.name, e.metadata, e.at)
	}
	err := tx.insertRows(ctx, `INSERT INTO events (id, tenant_id, customer_ref, name, metadata, occurred_at)`, 6, ``, args)
	if err != nil {
		return err
	}
	args = args[:0]
	for _, a := range u.rows.awards {
		args = append(args, a.eventRef, a.customerRef, a.ruleID, a.points, a.transactionID, a.at)
	}
	return tx.insertRows(ctx, `INSERT INTO event_awards (event_ref, customer_ref, rule_id, points, transaction_id, awarded_at)`,
		6, ``, args)
}

// insertRows runs `head VALUES (...), ... tail` over args, cols values a row, in as few statements
// as the engines' parameter limits allow.
func (tx *Tx) insertRows(ctx context.Context, head string, cols int, tail string, args []any) error {
	if len(args) == 0 {
		return nil
	}
	if len(args)%cols != 0 {
		return fmt.Errorf("store: %s: %d values for rows of %d", head, len(args), cols)
	}
	rowsPerStatement := 30000 / cols
	for start := 0; start < len(args); {
		n := min(rowsPerStatement, (len(args)-start)/cols)
		if tx.dialect == SQLite {
			// A statement's text depends on its row count, and SQLite keeps every text it met
			// prepared (statements.go): with counts in powers of two a table has a dozen shapes,
			// not one per count (a thousand-row shape holds a fraction of a megabyte).
			n = 1 << (bits.Len(uint(n)) - 1)
		}
		part := args[start : start+n*cols]
		start += n * cols
		var q strings.Builder
		q.WriteString(head)
		q.WriteString(` VALUES `)
		q.WriteString(placeholders(len(part)/cols, cols))
		q.WriteString(tail)
		if _, err := tx.rawExec(ctx, q.String(), part...); err != nil {
			return err
		}
	}
	return nil
}

// sortLots puts lots in spending order: first to expire first, then first available, then oldest.
func sortLots(lots []Lot) {
	slices.SortFunc(lots, func(a, b Lot) int {
		return cmp.Or(cmp.Compare(a.ExpiresAt, b.ExpiresAt), cmp.Compare(a.AvailableAt, b.AvailableAt), cmp.Compare(a.ID, b.ID))
	})
}
