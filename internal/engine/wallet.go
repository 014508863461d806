package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// The balance model.
//
// A customer's points live in lots (one per credit): each lot knows the points it has left, when
// they become available and when they expire. Entries are the append-only movements between them,
// so a lot's points left are the sum of its entries. A hold moves no points: it reserves points of
// specific lots (its allocation), and reserved points do not expire while the hold is active.
//
// Everything time does is computed from the clock when the wallet is read, so a balance is right at
// the moment it is read with nothing running in the background: points are pending until their lot's
// available time, expired from its expiry time, and a hold lapses at its own. At every moment:
//
//	total     = points left in unexpired lots + points reserved in expired ones
//	pending   = points left in unexpired lots not yet available
//	held      = points reserved by active holds
//	available = total − pending − held
//
// Expired points are taken out of their lot by an Expiry transaction the next time an operation
// changes the customer (settle), so between an expiry and that moment the entries add up to the
// total plus the expired points not yet recorded; after it they add up to the total exactly.

// wallet is one customer's points at one moment, read under the customer's lock: their lots with
// points left, in spending order, and their active holds.
type wallet struct {
	tenantID    int64
	customerRef int64
	now         int64 // the moment, in unix microseconds
	rules       loyalty.Rules
	lots        []*store.Lot
	holds       []store.Hold
	reserved    map[int64]int64 // lot id -> points its active holds reserve
}

func (e *Engine) openWallet(ctx context.Context, tx *store.Tx, tenantID, customerRef int64, rules loyalty.Rules,
	at time.Time) (*wallet, error) {
	w := &wallet{tenantID: tenantID, customerRef: customerRef, now: store.Micros(at), rules: rules, reserved: map[int64]int64{}}
	lots, err := tx.LiveLots(ctx, customerRef)
	if err != nil {
		return nil, err
	}
	for i := range lots {
		w.lots = append(w.lots, &lots[i])
	}
	if w.holds, err = tx.ActiveHolds(ctx, customerRef, w.now); err != nil {
		return nil, err
	}
	for _, h := range w.holds {
		for _, m := range h.Allocation {
			w.reserved[m.Lot] += m.Points
		}
	}
	return w, nil
}

// openEarner reads the wallet for an operation that credits points: the transactionId must be new
// (checked before anything is written), and an unknown customer is created. The customer is locked.
func (e *Engine) openEarner(ctx context.Context, tx *store.Tx, tenantID int64, customerID, transactionID string,
	rules loyalty.Rules, at time.Time) (*wallet, error) {
	if err := checkNewTransactionID(ctx, tx, tenantID, transactionID); err != nil {
		return nil, err
	}
	ref, err := tx.EnsureCustomer(ctx, tenantID, customerID, at)
	if err != nil {
		return nil, err
	}
	return e.openWallet(ctx, tx, tenantID, ref, rules, at)
}

// openSpender reads the wallet for an operation that takes points: the customer must exist (7000)
// and is locked; a non-empty transactionId must be new.
func (e *Engine) openSpender(ctx context.Context, tx *store.Tx, tenantID int64, customerID, transactionID string,
	rules loyalty.Rules, at time.Time) (*wallet, error) {
	ref, err := lockCustomer(ctx, tx, tenantID, customerID)
	if err != nil {
		return nil, err
	}
	if transactionID != "" {
		if err := checkNewTransactionID(ctx, tx, tenantID, transactionID); err != nil {
			return nil, err
		}
	}
	return e.openWallet(ctx, tx, tenantID, ref, rules, at)
}

// lockCustomer returns the numeric id of an existing customer, locked on PostgreSQL for the rest of
// the transaction; 7000 when unknown.
func lockCustomer(ctx context.Context, tx *store.Tx, tenantID int64, customerID string) (int64, error) {
	ref, err := tx.LockCustomer(ctx, tenantID, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, customerNotFound(customerID)
	}
	return ref, err
}

func checkNewTransactionID(ctx context.Context, tx *store.Tx, tenantID int64, transactionID string) error {
	taken, err := tx.TransactionIDTaken(ctx, tenantID, transactionID)
	if err != nil {
		return err
	}
	if taken {
		return duplicate(transactionID)
	}
	return nil
}

func duplicate(transactionID string) error {
	return loyalty.Errorf(loyalty.CodeDuplicate, "transactionId %q already exists", transactionID)
}

func (w *wallet) expired(l *store.Lot) bool   { return l.ExpiresAt <= w.now }
func (w *wallet) pending(l *store.Lot) bool   { return l.AvailableAt > w.now }
func (w *wallet) spendable(l *store.Lot) bool { return !w.pending(l) }

// free is what may be taken out of the lot now: its unexpired points that no hold reserves.
func (w *wallet) free(l *store.Lot) int64 {
	if w.expired(l) {
		return 0
	}
	return l.Remaining - w.reserved[l.ID]
}

// lapsed is what of the lot has expired: its points past their expiry time that no hold reserves.
func (w *wallet) lapsed(l *store.Lot) int64 {
	if !w.expired(l) {
		return 0
	}
	return l.Remaining - w.reserved[l.ID]
}

// balances are a wallet's points by state; see the balance model above.
type balances struct {
	total, available, pending, held int64
	// nextExpiry is the earliest expiry time of free points (0 when none expire) and nextExpiring
	// how many points expire then.
	nextExpiry, nextExpiring int64
}

func (w *wallet) balances() balances {
	var b balances
	for _, l := range w.lots {
		held := w.reserved[l.ID]
		b.held += held
		if w.expired(l) {
			b.total += held
			continue
		}
		b.total += l.Remaining
		if w.pending(l) {
			b.pending += l.Remaining
		}
		if free := w.free(l); free > 0 && l.ExpiresAt != store.Never {
			switch {
			case b.nextExpiry == 0 || l.ExpiresAt < b.nextExpiry:
				b.nextExpiry, b.nextExpiring = l.ExpiresAt, free
			case l.ExpiresAt == b.nextExpiry:
				b.nextExpiring += free
			}
		}
	}
	b.available = b.total - b.pending - b.held
	return b
}

// freeIn returns the free points of the lots that pass the filter.
func (w *wallet) freeIn(filter func(*store.Lot) bool) int64 {
	var n int64
	for _, l := range w.lots {
		if filter(l) {
			n += w.free(l)
		}
	}
	return n
}

// take chooses n points to take out of the free points of the lots, trying the filters in turn and,
// within each, the lots in spending order (first to expire first). It returns the debits (negative
// moves) and how many points it could not find. It writes nothing.
func (w *wallet) take(n int64, filters ...func(*store.Lot) bool) (moves []store.Move, short int64) {
	taken := map[int64]int64{}
	for _, filter := range filters {
		for _, l := range w.lots {
			if n == 0 {
				return moves, 0
			}
			if !filter(l) {
				continue
			}
			k := min(n, w.free(l)-taken[l.ID])
			if k <= 0 {
				continue
			}
			taken[l.ID] += k
			moves = append(moves, store.Move{Lot: l.ID, Points: -k})
			n -= k
		}
	}
	return moves, n
}

// lot returns the wallet's lot with the id.
func (w *wallet) lot(id int64) *store.Lot {
	for _, l := range w.lots {
		if l.ID == id {
			return l
		}
	}
	return nil
}

// hold returns the customer's active hold with the reference.
func (w *wallet) hold(reference string) (store.Hold, bool) {
	for _, h := range w.holds {
		if h.Reference == reference {
			return h, true
		}
	}
	return store.Hold{}, false
}

// debit takes points out of lots for the transaction txnID.
func (e *Engine) debit(ctx context.Context, tx *store.Tx, w *wallet, txnID int64, moves []store.Move) error {
	if err := tx.DebitLots(ctx, w.customerRef, txnID, moves, w.now); err != nil {
		return err
	}
	for _, m := range moves {
		l := w.lot(m.Lot)
		if l == nil { // the database took the points, so the lot exists: the wallet is out of step
			return fmt.Errorf("engine: lot %d of customer %d is not in the wallet", m.Lot, w.customerRef)
		}
		l.Remaining += m.Points
	}
	return nil
}

// settle records the expiries the customer's wallet shows but the ledger does not yet: one Expiry
// transaction per lot, dated at the lot's expiry time, taking out its lapsed points. Operations call
// it before they change the customer, after their checks: it changes no balance as read, only makes
// the entries add up to it again.
func (e *Engine) settle(ctx context.Context, tx *store.Tx, w *wallet) error {
	for _, l := range w.lots {
		n := w.lapsed(l)
		if n == 0 {
			continue
		}
		t := store.Txn{TenantID: w.tenantID, CustomerRef: w.customerRef, Kind: loyalty.KindExpiry, Points: -n,
			Currency: w.rules.Currency, Time: l.ExpiresAt, CreatedAt: w.now, Reverses: l.TransactionRef}
		if err := tx.InsertTxn(ctx, &t); err != nil {
			return err
		}
		if err := e.debit(ctx, tx, w, t.ID, []store.Move{{Lot: l.ID, Points: -n}}); err != nil {
			return err
		}
	}
	return nil
}

// newID returns a fresh random identifier with the prefix, for holds and for adjustments sent
// without a transactionId.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b[:])
}

// expiryTime is an expiry time as responses show it: nil for points that never expire.
func expiryTime(us int64) *time.Time {
	if us == store.Never || us == 0 {
		return nil
	}
	t := store.FromMicros(us)
	return &t
}
