package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// Never is the expiry time of points that never expire: later than any clock reading, so that
// "expires_at > now" needs no special case.
const Never int64 = math.MaxInt64

// ErrDuplicate is returned when an insert finds its unique key taken (a transactionId, orderId or
// hold reference).
var ErrDuplicate = errors.New("store: duplicate key")

// Txn is a business transaction of the ledger (a row of point_transactions). Times are unix
// microseconds.
type Txn struct {
	ID          int64
	TenantID    int64
	CustomerRef int64
	CustomerID  string // filled in by reads
	// TransactionID is the client's id; the rows of one operation share it and differ in Seq. It is
	// empty for Tally's own transactions (expiries).
	TransactionID    string
	Seq              int
	Kind             string // a loyalty.Kind* constant
	Points           int64  // the signed change of the customer's points
	Amount           int64  // money the transaction is about, in minor units of Currency
	Currency         string
	Reason, Username string
	Time             int64 // the client's transactionTime
	CreatedAt        int64
	// AvailableAt and ExpiresAt are set on credits only (0 otherwise): when the credited points
	// become available and when they expire (Never).
	AvailableAt, ExpiresAt int64
	Reverses               int64 // the transaction a refund, cancel or expiry undoes; 0 when none
	RefundedAmount         int64 // money refunded so far against this transaction
	Refunded               bool  // refunded in full
}

// Status is the transaction's status at now: a credit is Pending until its points are available and
// Expired from their expiry time; everything else is Active. ListTxns filters with the same rule.
func (t *Txn) Status(now int64) string {
	switch {
	case t.AvailableAt == 0:
		return loyalty.StatusActive
	case t.ExpiresAt <= now:
		return loyalty.StatusExpired
	case t.AvailableAt > now:
		return loyalty.StatusPending
	}
	return loyalty.StatusActive
}

// statusSQL is Status as a condition on point_transactions; each takes the clock once per "?".
var statusSQL = map[string]string{
	loyalty.StatusExpired: `t.expires_at <= ?`,
	loyalty.StatusPending: `t.expires_at > ? AND t.available_at > ?`,
	loyalty.StatusActive:  `(t.available_at IS NULL OR (t.available_at <= ? AND t.expires_at > ?))`,
}

// StatusKnown reports whether status is one ListTxns can filter by.
func StatusKnown(status string) bool { _, ok := statusSQL[status]; return ok }

const txnColumns = `t.id, t.tenant_id, t.customer_ref, c.customer_id, t.transaction_id, t.seq, t.kind, t.points,
	t.amount, t.currency, t.reason, t.username, t.transaction_time, t.created_at, t.available_at, t.expires_at,
	t.reverses, t.refunded_amount, t.refunded`

const txnFrom = ` FROM point_transactions t JOIN customers c ON c.id = t.customer_ref`

func scanTxn(row interface{ Scan(...any) error }) (Txn, error) {
	var t Txn
	var id sql.NullString
	var avail, exp, rev sql.NullInt64
	err := row.Scan(&t.ID, &t.TenantID, &t.CustomerRef, &t.CustomerID, &id, &t.Seq, &t.Kind, &t.Points,
		&t.Amount, &t.Currency, &t.Reason, &t.Username, &t.Time, &t.CreatedAt, &avail, &exp,
		&rev, &t.RefundedAmount, &t.Refunded)
	t.TransactionID, t.AvailableAt, t.ExpiresAt, t.Reverses = id.String, avail.Int64, exp.Int64, rev.Int64
	return t, err
}

func queryTxns(ctx context.Context, tx *Tx, query string, args ...any) ([]Txn, error) {
	rows, err := tx.Query(ctx, `SELECT `+txnColumns+txnFrom+query, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(r *sql.Rows) (Txn, error) { return scanTxn(r) })
}

// nullable maps the zero value to NULL.
func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// TransactionIDTaken reports whether a transaction of the tenant already has the transactionId.
func (tx *Tx) TransactionIDTaken(ctx context.Context, tenantID int64, transactionID string) (bool, error) {
	if err := tx.loadTaken(ctx, tenantID, 0, []string{transactionID}); err != nil {
		return false, err
	}
	return tx.unitOf().taken[txnKey{tenantID, transactionID, 0}], nil
}

// InsertTxn records t and sets its ID. It returns ErrDuplicate, and changes nothing, when the
// tenant already has a row with t's TransactionID and Seq. A concurrent transaction that takes the
// same key first makes this one fail with ErrConflict when its rows are sent, and run again.
func (tx *Tx) InsertTxn(ctx context.Context, t *Txn) error {
	u := tx.unitOf()
	if t.TransactionID != "" {
		if err := tx.loadTaken(ctx, t.TenantID, t.Seq, []string{t.TransactionID}); err != nil {
			return err
		}
		k := txnKey{t.TenantID, t.TransactionID, t.Seq}
		if u.taken[k] {
			return ErrDuplicate
		}
		u.taken[k] = true
	}
	id, err := tx.newID(ctx, "point_transactions")
	if err != nil {
		return err
	}
	t.ID = id
	u.rows.txns = append(u.rows.txns, *t)
	u.changes++
	return nil
}

// TxnGroup returns the tenant's rows of one operation (sharing transactionId) in Seq order; none
// when the id is unknown.
func (tx *Tx) TxnGroup(ctx context.Context, tenantID int64, transactionID string) ([]Txn, error) {
	ts, err := queryTxns(ctx, tx, ` WHERE t.tenant_id = ? AND t.transaction_id = ? ORDER BY t.seq`, tenantID, transactionID)
	if err != nil {
		return nil, fmt.Errorf("store: read transaction %q: %w", transactionID, err)
	}
	return ts, nil
}

// TxnsReversing returns the transactions that reverse any of ids (refunds, cancels, expiries), by id.
func (tx *Tx) TxnsReversing(ctx context.Context, ids []int64) ([]Txn, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	ts, err := queryTxns(ctx, tx, ` WHERE t.reverses IN (`+idList(len(ids))+`) ORDER BY t.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read reversals: %w", err)
	}
	return ts, nil
}

// TxnFilter selects transactions for ListTxns; zero fields do not filter.
type TxnFilter struct {
	TenantID    int64
	CustomerRef int64
	Kind        string
	Status      string // with Now
	Direction   string // "+" or "-"
	From, To    int64  // transaction time, From inclusive, To exclusive
	Now         int64
	After       int64 // the page starts after this id
	Limit       int
}

// ListTxns returns at most f.Limit transactions of the tenant that pass the filter, by id.
func (tx *Tx) ListTxns(ctx context.Context, f TxnFilter) ([]Txn, error) {
	var where strings.Builder
	args := []any{f.TenantID, f.After}
	where.WriteString(` WHERE t.tenant_id = ? AND t.id > ?`)
	add := func(cond string, vs ...any) {
		where.WriteString(" AND " + cond)
		args = append(args, vs...)
	}
	if f.CustomerRef != 0 {
		add(`t.customer_ref = ?`, f.CustomerRef)
	}
	if f.Kind != "" {
		add(`t.kind = ?`, f.Kind)
	}
	if cond, ok := statusSQL[f.Status]; ok {
		add(cond, nowArgs(cond, f.Now)...)
	}
	switch f.Direction {
	case "+":
		add(`t.points >= 0`)
	case "-":
		add(`t.points < 0`)
	}
	if f.From != 0 {
		add(`t.transaction_time >= ?`, f.From)
	}
	if f.To != 0 {
		add(`t.transaction_time < ?`, f.To)
	}
	where.WriteString(` ORDER BY t.id LIMIT ?`)
	args = append(args, f.Limit)
	ts, err := queryTxns(ctx, tx, where.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list transactions: %w", err)
	}
	return ts, nil
}

// nowArgs repeats now once per placeholder of cond.
func nowArgs(cond string, now int64) []any {
	args := make([]any, strings.Count(cond, "?"))
	for i := range args {
		args[i] = now
	}
	return args
}

// SetRefunded records how much money has been refunded against transaction id, and whether that is
// all of it.
func (tx *Tx) SetRefunded(ctx context.Context, id, amount int64, full bool) error {
	// The unit does not keep what a transaction has had refunded.
	if _, err := tx.execKept(ctx, `UPDATE point_transactions SET refunded_amount = ?, refunded = ? WHERE id = ?`, amount, full, id); err != nil {
		return fmt.Errorf("store: record refund: %w", err)
	}
	return nil
}

// Lot is a credit of points (a row of point_lots). Times are unix microseconds.
type Lot struct {
	ID             int64
	CustomerRef    int64
	TransactionRef int64 // the transaction that credited it
	Points         int64 // credited
	Remaining      int64 // left: always the sum of the lot's entries
	AvailableAt    int64
	ExpiresAt      int64 // Never when the points never expire
}

// Move is a change of one lot's points: negative takes points out, positive reserves them (in a
// hold's allocation).
type Move struct {
	Lot    int64 `json:"lot"`
	Points int64 `json:"points"`
}

// InsertLot records a new lot holding all its points, with the entry that credits them, and sets
// its ID and Remaining.
func (tx *Tx) InsertLot(ctx context.Context, l *Lot, at int64) error {
	if err := tx.loadLots(ctx, []int64{l.CustomerRef}); err != nil {
		return err
	}
	id, err := tx.newID(ctx, "point_lots")
	if err != nil {
		return err
	}
	l.ID, l.Remaining = id, l.Points
	u := tx.unitOf()
	kept := *l
	w := u.wallet(l.CustomerRef)
	w.lots = append(w.lots, &kept)
	u.markLot(&kept)
	u.rows.entries = append(u.rows.entries, entryRow{l.CustomerRef, l.TransactionRef, l.ID, l.Points, at})
	return nil
}

// DebitLots takes points out of the customer's lots for a transaction: each move (negative) lowers
// a lot's remaining points and appends the entry that records it. A move that is not a debit, or
// that names a lot the customer has no points in, or takes it below zero, is a bug in the caller,
// never a client error: it fails and changes nothing.
func (tx *Tx) DebitLots(ctx context.Context, customerRef, transactionRef int64, moves []Move, at int64) error {
	if err := tx.loadLots(ctx, []int64{customerRef}); err != nil {
		return err
	}
	u := tx.unitOf()
	w := u.wallet(customerRef)
	lots := make([]*Lot, len(moves))
	taken := map[int64]int64{} // by lot, what the moves before take
	for i, m := range moves {
		j := slices.IndexFunc(w.lots, func(l *Lot) bool { return l.ID == m.Lot })
		if m.Points >= 0 || j < 0 || w.lots[j].Remaining+taken[m.Lot]+m.Points < 0 {
			return fmt.Errorf("store: debit of %d points from lot %d of customer %d is not possible", m.Points, m.Lot, customerRef)
		}
		taken[m.Lot] += m.Points
		lots[i] = w.lots[j]
	}
	for i, m := range moves {
		lots[i].Remaining += m.Points
		u.markLot(lots[i])
		u.rows.entries = append(u.rows.entries, entryRow{customerRef, transactionRef, m.Lot, m.Points, at})
	}
	return nil
}

// LiveLots returns the customer's lots that have points left, in spending order: first to expire
// first, then first available, then oldest.
func (tx *Tx) LiveLots(ctx context.Context, customerRef int64) ([]Lot, error) {
	if err := tx.loadLots(ctx, []int64{customerRef}); err != nil {
		return nil, err
	}
	var ls []Lot
	for _, l := range tx.unitOf().wallet(customerRef).lots {
		if l.Remaining > 0 {
			ls = append(ls, *l)
		}
	}
	sortLots(ls)
	return ls, nil
}

// ActivateLots makes the lots and the credit transactions available at `at`.
func (tx *Tx) ActivateLots(ctx context.Context, lotIDs, txnIDs []int64, at int64) error {
	for _, u := range []struct {
		table string
		ids   []int64
	}{{"point_lots", lotIDs}, {"point_transactions", txnIDs}} {
		if len(u.ids) == 0 {
			continue
		}
		args := []any{at}
		for _, id := range u.ids {
			args = append(args, id)
		}
		args = append(args, at)
		if _, err := tx.execKept(ctx, `UPDATE `+u.table+` SET available_at = ? WHERE id IN (`+idList(len(u.ids))+`)
			AND available_at > ?`, args...); err != nil {
			return fmt.Errorf("store: activate %s: %w", u.table, err)
		}
	}
	// The unit keeps lots, not transactions.
	for _, w := range tx.unitOf().wallets {
		for _, l := range w.lots {
			if l.AvailableAt > at && slices.Contains(lotIDs, l.ID) {
				l.AvailableAt = at
			}
		}
	}
	return nil
}

// idList is the placeholder list of an IN (...) of n values.
func idList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Hold statuses as stored. An active hold whose expiry time has passed has lapsed; nothing needs to
// record that.
const (
	HoldStatusActive   = "active"
	HoldStatusUsed     = "used"
	HoldStatusReleased = "released"
)

// Hold is a reservation of points (a row of point_holds).
type Hold struct {
	ID          int64
	TenantID    int64
	CustomerRef int64
	CustomerID  string // filled in by HoldByReference
	Reference   string
	Points      int64
	Amount      int64 // money value of Points when held
	Currency    string
	// Allocation says how many points of which lots the hold reserves; the points add up to Points.
	Allocation     []Move
	Status         string
	CreatedAt      int64
	ExpiresAt      int64
	EndedAt        int64 // 0 while active
	TransactionRef int64 // the redemption that used it
}

// State is the hold's state at now, in the reference API's words.
func (h *Hold) State(now int64) string {
	switch {
	case h.Status == HoldStatusUsed:
		return loyalty.HoldUsed
	case h.Status == HoldStatusReleased:
		return loyalty.HoldReleased
	case h.ExpiresAt <= now:
		return loyalty.HoldExpired
	}
	return loyalty.HoldActive
}

// InsertHold records an active hold and sets its ID; ErrDuplicate when the reference is taken. It
// runs at once, outside the unit.
func (tx *Tx) InsertHold(ctx context.Context, h *Hold) error {
	alloc, err := json.Marshal(h.Allocation)
	if err != nil {
		return fmt.Errorf("store: encode hold allocation: %w", err)
	}
	u := tx.unitOf()
	u.changes++
	u.wallet(h.CustomerRef).holdsLoaded = false
	err = tx.QueryRow(ctx, `INSERT INTO point_holds (tenant_id, customer_ref, reference, points, amount, currency,
			allocation, status, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		h.TenantID, h.CustomerRef, h.Reference, h.Points, h.Amount, h.Currency, string(alloc), HoldStatusActive,
		h.CreatedAt, h.ExpiresAt).Scan(&h.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("store: insert hold: %w", err)
	}
	h.Status = HoldStatusActive
	return nil
}

const holdColumns = `h.id, h.tenant_id, h.customer_ref, c.customer_id, h.reference, h.points, h.amount, h.currency,
	h.allocation, h.status, h.created_at, h.expires_at, h.ended_at, h.transaction_ref`

func queryHolds(ctx context.Context, query func(context.Context, string, ...any) (*sql.Rows, error), where string,
	args ...any) ([]Hold, error) {
	rows, err := query(ctx, `SELECT `+holdColumns+` FROM point_holds h JOIN customers c ON c.id = h.customer_ref `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read holds: %w", err)
	}
	hs, err := scanAll(rows, func(r *sql.Rows) (Hold, error) {
		var h Hold
		var alloc string
		var ended, txnRef sql.NullInt64
		if err := r.Scan(&h.ID, &h.TenantID, &h.CustomerRef, &h.CustomerID, &h.Reference, &h.Points, &h.Amount,
			&h.Currency, &alloc, &h.Status, &h.CreatedAt, &h.ExpiresAt, &ended, &txnRef); err != nil {
			return h, err
		}
		h.EndedAt, h.TransactionRef = ended.Int64, txnRef.Int64
		if err := json.Unmarshal([]byte(alloc), &h.Allocation); err != nil {
			return h, fmt.Errorf("decode allocation of hold %d: %w", h.ID, err)
		}
		return h, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: read holds: %w", err)
	}
	return hs, nil
}

// ActiveHolds returns the customer's holds that are active at now, oldest first.
func (tx *Tx) ActiveHolds(ctx context.Context, customerRef, now int64) ([]Hold, error) {
	if err := tx.loadHolds(ctx, []int64{customerRef}); err != nil {
		return nil, err
	}
	var hs []Hold
	for _, h := range tx.unitOf().wallet(customerRef).holds {
		if h.Status == HoldStatusActive && h.ExpiresAt > now {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(a, b Hold) int { return cmp.Compare(a.ID, b.ID) })
	return hs, nil
}

// HoldByReference returns the tenant's hold with the reference, or ErrNotFound.
func (tx *Tx) HoldByReference(ctx context.Context, tenantID int64, reference string) (Hold, error) {
	hs, err := queryHolds(ctx, tx.Query, `WHERE h.tenant_id = ? AND h.reference = ?`, tenantID, reference)
	if err != nil {
		return Hold{}, err
	}
	if len(hs) == 0 {
		return Hold{}, ErrNotFound
	}
	return hs[0], nil
}

// EndHold marks an active hold used (by the redemption transactionRef) or released, at `at`. It
// returns ErrNotFound when the hold was not active.
func (tx *Tx) EndHold(ctx context.Context, id int64, status string, at, transactionRef int64) error {
	res, err := tx.execKept(ctx, `UPDATE point_holds SET status = ?, ended_at = ?, transaction_ref = ? WHERE id = ? AND status = ?`,
		status, at, nullable(transactionRef), id, HoldStatusActive)
	if err != nil {
		return fmt.Errorf("store: end hold: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrNotFound
	}
	for _, w := range tx.unitOf().wallets {
		for i := range w.holds {
			if h := &w.holds[i]; h.ID == id {
				h.Status, h.EndedAt, h.TransactionRef = status, at, transactionRef
			}
		}
	}
	return nil
}

// OrderRow is a stored order. Money is in minor units of Currency; times are unix microseconds.
type OrderRow struct {
	TenantID, CustomerRef int64
	OrderID               string
	OrderDate             int64
	Currency              string
	TotalPaid             int64
	// TotalPrice, TotalDiscount, TotalShipping and TotalTax are nil when the client did not give them.
	TotalPrice, TotalDiscount, TotalShipping, TotalTax *int64
	LineItems, Extra                                   string // JSON
	Channel, CartID                                    string
	CreatedAt                                          int64
}

// InsertOrder records an order; ErrDuplicate, changing nothing, when the tenant has one with its
// orderId.
func (tx *Tx) InsertOrder(ctx context.Context, o OrderRow) error {
	if err := tx.loadOrderIDs(ctx, o.TenantID, []string{o.OrderID}); err != nil {
		return err
	}
	u := tx.unitOf()
	k := customerKey{o.TenantID, o.OrderID}
	if u.orderIDs[k] {
		return ErrDuplicate
	}
	u.orderIDs[k] = true
	u.rows.orders = append(u.rows.orders, o)
	u.changes++
	return nil
}

// OrderExists reports whether the tenant has an order with the orderId.
func (tx *Tx) OrderExists(ctx context.Context, tenantID int64, orderID string) (bool, error) {
	if err := tx.loadOrderIDs(ctx, tenantID, []string{orderID}); err != nil {
		return false, err
	}
	return tx.unitOf().orderIDs[customerKey{tenantID, orderID}], nil
}

// AddLifetimeEarned adds delta (negative when a refund takes earned points back) to the customer's
// lifetime earned points.
func (tx *Tx) AddLifetimeEarned(ctx context.Context, customerRef, delta int64) error {
	u := tx.unitOf()
	w := u.wallet(customerRef)
	w.earnedDelta += delta
	if !w.earnedDirty {
		w.earnedDirty = true
		u.rows.wallets = append(u.rows.wallets, customerRef)
	}
	u.changes++
	return nil
}

// LifetimeEarned returns the customer's lifetime earned points.
func (tx *Tx) LifetimeEarned(ctx context.Context, customerRef int64) (int64, error) {
	if err := tx.loadEarned(ctx, []int64{customerRef}); err != nil {
		return 0, err
	}
	w := tx.unitOf().wallet(customerRef)
	return w.earned + w.earnedDelta, nil
}

// LockCustomerRef locks the customer with the numeric id on PostgreSQL for the rest of the
// transaction, like LockCustomer; ErrNotFound when there is none.
func (tx *Tx) LockCustomerRef(ctx context.Context, ref int64) error {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM customers WHERE id = ?`+tx.ForUpdate(), ref).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: lock customer: %w", err)
	}
	return nil
}
