package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// The unit of work (unit.go): reads answered from the transaction's memory, ledger rows buffered and
// sent in multi-row statements before other statements, at the end of a savepoint step and at
// commit. These tests hold it to what a transaction that ran every statement on its own would see.

// unitCredit credits points to the tenant's customer, creating the customer when needed: a credit
// transaction with the transactionId, its lot and the lifetime total, all through the unit.
func unitCredit(ctx context.Context, tx *store.Tx, tenantID int64, customerID, transactionID string, points int64) (int64, store.Lot, error) {
	at := store.Micros(now)
	ref, err := tx.EnsureCustomer(ctx, tenantID, customerID, now)
	if err != nil {
		return 0, store.Lot{}, err
	}
	credit := store.Txn{TenantID: tenantID, CustomerRef: ref, TransactionID: transactionID, Kind: loyalty.KindManualAccumulation,
		Points: points, Currency: "USD", Time: at, CreatedAt: at, AvailableAt: at, ExpiresAt: store.Never}
	if err := tx.InsertTxn(ctx, &credit); err != nil {
		return 0, store.Lot{}, err
	}
	lot := store.Lot{CustomerRef: ref, TransactionRef: credit.ID, Points: points, AvailableAt: at, ExpiresAt: store.Never}
	if err := tx.InsertLot(ctx, &lot, at); err != nil {
		return 0, store.Lot{}, err
	}
	return ref, lot, tx.AddLifetimeEarned(ctx, ref, points)
}

// unitDebit records a redemption of points from one lot of the customer.
func unitDebit(ctx context.Context, tx *store.Tx, tenantID, ref int64, lotID int64, transactionID string, points int64) error {
	at := store.Micros(now)
	debit := store.Txn{TenantID: tenantID, CustomerRef: ref, TransactionID: transactionID, Kind: loyalty.KindRedemption,
		Points: -points, Currency: "USD", Time: at, CreatedAt: at}
	if err := tx.InsertTxn(ctx, &debit); err != nil {
		return err
	}
	return tx.DebitLots(ctx, ref, debit.ID, []store.Move{{Lot: lotID, Points: -points}}, at)
}

// unitCount runs a COUNT or SUM query through tx.QueryRow, which must send the unit's rows first.
func unitCount(ctx context.Context, tx *store.Tx, query string, args ...any) (int64, error) {
	var n int64
	if err := tx.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", query, err)
	}
	return n, nil
}

// unitWallet is what the database holds for one customer, read back through the store and raw SQL.
type unitWallet struct {
	exists            bool
	remaining         []int64 // of the live lots, in spending order
	earned            int64
	txns, entries     int64
	entrySum, lotsSum int64
}

func (w unitWallet) String() string {
	return fmt.Sprintf("{exists %v, lots %v, earned %d, %d txns, %d entries summing %d, lots summing %d}",
		w.exists, w.remaining, w.earned, w.txns, w.entries, w.entrySum, w.lotsSum)
}

// readWallet reads a customer's wallet in a transaction of its own, as any later request would.
func readWallet(t *testing.T, db *store.DB, tenantID int64, customerID string) unitWallet {
	t.Helper()
	ctx := context.Background()
	var w unitWallet
	err := db.Read(ctx, func(tx *store.Tx) error {
		c, err := tx.GetCustomer(ctx, tenantID, customerID)
		if errors.Is(err, store.ErrNotFound) {
			// Nothing may belong to a customer that does not exist: look for rows by customer_id too.
			n, err := unitCount(ctx, tx, `SELECT COUNT(*) FROM point_transactions t JOIN customers c ON c.id = t.customer_ref
				WHERE c.tenant_id = ? AND c.customer_id = ?`, tenantID, customerID)
			w.txns = n
			return err
		}
		if err != nil {
			return err
		}
		w.exists = true
		ref := c.GameballID
		lots, err := tx.LiveLots(ctx, ref)
		if err != nil {
			return err
		}
		for _, l := range lots {
			w.remaining = append(w.remaining, l.Remaining)
		}
		if w.earned, err = tx.LifetimeEarned(ctx, ref); err != nil {
			return err
		}
		for _, q := range []struct {
			dst   *int64
			query string
		}{
			{&w.txns, `SELECT COUNT(*) FROM point_transactions WHERE customer_ref = ?`},
			{&w.entries, `SELECT COUNT(*) FROM point_entries WHERE customer_ref = ?`},
			{&w.entrySum, `SELECT COALESCE(SUM(points), 0) FROM point_entries WHERE customer_ref = ?`},
			{&w.lotsSum, `SELECT COALESCE(SUM(remaining), 0) FROM point_lots WHERE customer_ref = ?`},
		} {
			if *q.dst, err = unitCount(ctx, tx, q.query, ref); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read wallet of %s: %v", customerID, err)
	}
	return w
}

// TestUnitReadsItsOwnWrites proves read-your-writes within one transaction: a customer created and
// credited, debited and given lifetime points in the unit is seen, before anything is sent, by
// GetCustomer, LiveLots, LifetimeEarned and TransactionIDTaken; a raw tx.QueryRow sees the same rows
// in the tables (so the unit was sent before it); the unit's answers stay right after that send
// (lifetime points not counted twice, a lot debited again after being sent is updated, not
// duplicated); an existing customer's pending lifetime delta adds to the stored total; and after
// commit a fresh Read sees exactly what the transaction saw.
func TestUnitReadsItsOwnWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, _ := setup(t, d)
		var oldRef int64
		err := db.Write(ctx, func(tx *store.Tx) error {
			var err error
			oldRef, _, err = unitCredit(ctx, tx, tenant.ID, "old", "old-1", 50)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		err = db.Write(ctx, func(tx *store.Tx) error {
			check := func(what string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: got %v, want %v", what, got, want)
				}
			}
			taken := func(id string) bool {
				t.Helper()
				ok, err := tx.TransactionIDTaken(ctx, tenant.ID, id)
				if err != nil {
					t.Errorf("TransactionIDTaken(%s): %v", id, err)
				}
				return ok
			}
			remaining := func(ref int64) []int64 {
				t.Helper()
				lots, err := tx.LiveLots(ctx, ref)
				if err != nil {
					t.Errorf("LiveLots: %v", err)
				}
				var out []int64
				for _, l := range lots {
					out = append(out, l.Remaining)
				}
				return out
			}
			earned := func(ref int64) int64 {
				t.Helper()
				n, err := tx.LifetimeEarned(ctx, ref)
				if err != nil {
					t.Errorf("LifetimeEarned: %v", err)
				}
				return n
			}
			count := func(query string, args ...any) int64 {
				t.Helper()
				n, err := unitCount(ctx, tx, query, args...)
				if err != nil {
					t.Error(err)
				}
				return n
			}

			check("rw-1 taken before it is written", taken("rw-1"), false)
			ref, lot, err := unitCredit(ctx, tx, tenant.ID, "rw", "rw-1", 100)
			if err != nil {
				return err
			}
			c, err := tx.GetCustomer(ctx, tenant.ID, "rw")
			if err != nil {
				return fmt.Errorf("the new customer, unsent: %w", err)
			}
			check("the new customer's id", c.GameballID, ref)
			if err := unitDebit(ctx, tx, tenant.ID, ref, lot.ID, "rw-2", 30); err != nil {
				return err
			}
			// An existing customer: lifetime points added before anything of theirs was read, and a
			// lot added beside the stored one.
			if err := tx.AddLifetimeEarned(ctx, oldRef, 5); err != nil {
				return err
			}
			check("old's lifetime points, delta unsent", earned(oldRef), 55)
			if _, _, err := unitCredit(ctx, tx, tenant.ID, "old", "old-2", 7); err != nil {
				return err
			}
			check("old's lifetime points after a second credit", earned(oldRef), 62)
			check("old's lots", remaining(oldRef), []int64{50, 7})

			// Nothing sent yet: the unit answers.
			check("rw's lots, unsent", remaining(ref), []int64{70})
			check("rw's lifetime points, unsent", earned(ref), 100)
			check("rw-1 taken, unsent", taken("rw-1"), true)
			check("rw-2 taken, unsent", taken("rw-2"), true)
			check("rw-3 taken", taken("rw-3"), false)

			// A raw query sends the unit's rows first, so it sees them all.
			check("customers rw in the table", count(`SELECT COUNT(*) FROM customers WHERE tenant_id = ? AND customer_id = 'rw'`, tenant.ID), 1)
			check("rw's point_transactions in the table", count(`SELECT COUNT(*) FROM point_transactions WHERE customer_ref = ?`, ref), 2)
			check("rw's point_entries in the table", count(`SELECT COUNT(*) FROM point_entries WHERE customer_ref = ?`, ref), 2)
			check("rw's entries sum", count(`SELECT SUM(points) FROM point_entries WHERE customer_ref = ?`, ref), 70)
			check("rw's lots remaining in the table", count(`SELECT SUM(remaining) FROM point_lots WHERE customer_ref = ?`, ref), 70)
			check("rw's lifetime_earned in the table", count(`SELECT lifetime_earned FROM point_accounts WHERE customer_ref = ?`, ref), 100)
			check("old's lifetime_earned in the table", count(`SELECT lifetime_earned FROM point_accounts WHERE customer_ref = ?`, oldRef), 62)
			check("old's lots in the table", count(`SELECT COUNT(*) FROM point_lots WHERE customer_ref = ?`, oldRef), 2)

			// After the send the unit still answers right, and later writes build on what was sent.
			check("rw's lots after the send", remaining(ref), []int64{70})
			check("rw's lifetime points after the send", earned(ref), 100)
			check("old's lifetime points after the send", earned(oldRef), 62)
			check("rw-1 taken after the send", taken("rw-1"), true)
			if err := unitDebit(ctx, tx, tenant.ID, ref, lot.ID, "rw-3", 20); err != nil {
				return err
			}
			if err := tx.AddLifetimeEarned(ctx, ref, 7); err != nil {
				return err
			}
			check("rw's lots after a second debit", remaining(ref), []int64{50})
			check("rw's lifetime points after a second add", earned(ref), 107)
			check("rw-3 taken, unsent", taken("rw-3"), true)
			check("rw's lot rows after the second send", count(`SELECT COUNT(*) FROM point_lots WHERE customer_ref = ?`, ref), 1)
			check("rw's lot remaining after the second send", count(`SELECT remaining FROM point_lots WHERE id = ?`, lot.ID), 50)
			check("rw's entries after the second send", count(`SELECT COUNT(*) FROM point_entries WHERE customer_ref = ?`, ref), 3)
			check("rw's lifetime_earned after the second send", count(`SELECT lifetime_earned FROM point_accounts WHERE customer_ref = ?`, ref), 107)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		want := map[string]string{
			"rw":  unitWallet{exists: true, remaining: []int64{50}, earned: 107, txns: 3, entries: 3, entrySum: 50, lotsSum: 50}.String(),
			"old": unitWallet{exists: true, remaining: []int64{50, 7}, earned: 62, txns: 2, entries: 2, entrySum: 57, lotsSum: 57}.String(),
		}
		for id, w := range want {
			if got := readWallet(t, db, tenant.ID, id).String(); got != w {
				t.Errorf("after commit, %s: %s, want %s", id, got, w)
			}
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			for _, id := range []string{"rw-1", "rw-2", "rw-3", "old-1", "old-2"} {
				if ok, err := tx.TransactionIDTaken(ctx, tenant.ID, id); err != nil || !ok {
					t.Errorf("after commit, %s taken: %v, %v", id, ok, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestUnitSavepoints proves that a failed savepoint step is undone alone: step 1 credits a customer
// and succeeds; step 2 credits a second customer and debits the first one's lot, then is refused
// with a *loyalty.Error (returned unchanged by Run); step 3 does the same after forcing its rows out
// mid-step with a raw query. Step 4, after the failures, must see the database as step 1 left it
// (the unit's reads were dropped and reloaded: the first customer's lot is whole again, the second
// customer and the refused transactionIds do not exist) and can create the second customer anew.
// After commit only the rows of steps 1 and 4 exist: the unit did not send the refused steps' rows
// again at a later flush or at commit.
func TestUnitSavepoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, _ := setup(t, d)
		refusal := loyalty.Errorf(loyalty.CodeInsufficient, "refused")
		err := db.Write(ctx, func(tx *store.Tx) error {
			steps := tx.Savepoints()
			var ref1 int64
			var lot1 store.Lot
			err := steps.Run(ctx, func() error {
				var err error
				ref1, lot1, err = unitCredit(ctx, tx, tenant.ID, "s1", "s1-t", 100)
				return err
			})
			if err != nil {
				return fmt.Errorf("step 1: %w", err)
			}

			for _, mid := range []bool{false, true} {
				before := tx.Changes()
				err = steps.Run(ctx, func() error {
					if _, _, err := unitCredit(ctx, tx, tenant.ID, "s2", "s2-t", 40); err != nil {
						return err
					}
					if err := unitDebit(ctx, tx, tenant.ID, ref1, lot1.ID, "s2-d", 30); err != nil {
						return err
					}
					if err := tx.AddLifetimeEarned(ctx, ref1, 1000); err != nil {
						return err
					}
					if lots, err := tx.LiveLots(ctx, ref1); err != nil || len(lots) != 1 || lots[0].Remaining != 70 {
						t.Errorf("inside the refused step (rows sent mid-step: %v): s1's lots %+v, %v", mid, lots, err)
					}
					if mid {
						if n, err := unitCount(ctx, tx, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ?`, tenant.ID); err != nil || n != 3 {
							t.Errorf("inside the refused step, after a raw query: %d transactions, %v; want 3", n, err)
						}
					}
					return refusal
				})
				if e, ok := loyalty.AsError(err); !ok || e != refusal {
					return fmt.Errorf("refused step (rows sent mid-step: %v): got %v, want the step's own error", mid, err)
				}
				if tx.Changes() == before {
					t.Errorf("refused step (rows sent mid-step: %v): Changes did not move", mid)
				}
			}

			err = steps.Run(ctx, func() error {
				lots, err := tx.LiveLots(ctx, ref1)
				if err != nil {
					return err
				}
				if len(lots) != 1 || lots[0].ID != lot1.ID || lots[0].Remaining != 100 {
					t.Errorf("after the refused steps, s1's lots %+v; want lot %d with 100 left", lots, lot1.ID)
				}
				if n, err := tx.LifetimeEarned(ctx, ref1); err != nil || n != 100 {
					t.Errorf("after the refused steps, s1's lifetime points %d, %v; want 100", n, err)
				}
				for _, id := range []string{"s2-t", "s2-d"} {
					if taken, err := tx.TransactionIDTaken(ctx, tenant.ID, id); err != nil || taken {
						t.Errorf("after the refused steps, %s taken: %v, %v", id, taken, err)
					}
				}
				if _, err := tx.GetCustomer(ctx, tenant.ID, "s2"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("after the refused steps, customer s2: %v; want ErrNotFound", err)
				}
				if taken, err := tx.TransactionIDTaken(ctx, tenant.ID, "s1-t"); err != nil || !taken {
					t.Errorf("after the refused steps, s1-t taken: %v, %v; want true", taken, err)
				}
				_, _, err = unitCredit(ctx, tx, tenant.ID, "s2", "s2-t", 10)
				return err
			})
			if err != nil {
				return fmt.Errorf("step after the refused ones: %w", err)
			}
			// A statement outside the steps, after them, sends nothing of the refused steps.
			n, err := unitCount(ctx, tx, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ?`, tenant.ID)
			if err != nil {
				return err
			}
			if n != 2 {
				t.Errorf("after the steps, %d transactions in the table; want 2", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"s1": unitWallet{exists: true, remaining: []int64{100}, earned: 100, txns: 1, entries: 1, entrySum: 100, lotsSum: 100}.String(),
			"s2": unitWallet{exists: true, remaining: []int64{10}, earned: 10, txns: 1, entries: 1, entrySum: 10, lotsSum: 10}.String(),
		}
		for id, w := range want {
			if got := readWallet(t, db, tenant.ID, id).String(); got != w {
				t.Errorf("after commit, %s: %s, want %s", id, got, w)
			}
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			for table, want := range map[string]int64{"customers": 2, "point_transactions": 2, "point_lots": 2, "point_entries": 2, "point_accounts": 2} {
				if n, err := unitCount(ctx, tx, `SELECT COUNT(*) FROM `+table); err != nil || n != want {
					t.Errorf("after commit, %s has %d rows (%v); want %d", table, n, err, want)
				}
			}
			if n, err := unitCount(ctx, tx, `SELECT COUNT(*) FROM point_transactions WHERE transaction_id = 's2-d'`); err != nil || n != 0 {
				t.Errorf("after commit, the refused debit s2-d: %d rows, %v", n, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestUnitPrefetchWithoutPoints proves that what Prefetch leaves out is read when first needed: two
// customers with the same committed lot, hold and lifetime total go through the same operations
// after a Prefetch, one with their points read ahead and one without (the lifetime total added to
// before anything reads it), and see and leave the same points.
func TestUnitPrefetchWithoutPoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, _ := setup(t, d)
		at := store.Micros(now)
		for _, id := range []string{"ahead", "lazy"} {
			err := db.Write(ctx, func(tx *store.Tx) error {
				ref, lot, err := unitCredit(ctx, tx, tenant.ID, id, id+"-1", 50)
				if err != nil {
					return err
				}
				return tx.InsertHold(ctx, &store.Hold{TenantID: tenant.ID, CustomerRef: ref, Reference: id + "-hold", Points: 5,
					Currency: "USD", Allocation: []store.Move{{Lot: lot.ID, Points: 5}}, CreatedAt: at, ExpiresAt: store.Never})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]string{}
		for _, id := range []string{"ahead", "lazy"} {
			err := db.Write(ctx, func(tx *store.Tx) error {
				err := tx.Prefetch(ctx, tenant.ID, store.PrefetchKeys{CustomerIDs: []string{id}, Points: id == "ahead"})
				if err != nil {
					return err
				}
				c, err := tx.GetCustomer(ctx, tenant.ID, id)
				if err != nil {
					return err
				}
				if err := tx.AddLifetimeEarned(ctx, c.GameballID, 7); err != nil {
					return err
				}
				if _, _, err := unitCredit(ctx, tx, tenant.ID, id, id+"-2", 20); err != nil {
					return err
				}
				lots, err := tx.LiveLots(ctx, c.GameballID)
				if err != nil {
					return err
				}
				if err := unitDebit(ctx, tx, tenant.ID, c.GameballID, lots[0].ID, id+"-3", 10); err != nil {
					return err
				}
				holds, err := tx.ActiveHolds(ctx, c.GameballID, at)
				if err != nil {
					return err
				}
				earned, err := tx.LifetimeEarned(ctx, c.GameballID)
				if err != nil {
					return err
				}
				var remaining, held []int64
				for _, l := range lots {
					remaining = append(remaining, l.Remaining)
				}
				for _, h := range holds {
					held = append(held, h.Points)
				}
				seen[id] = fmt.Sprintf("lots %v, holds %v, earned %d", remaining, held, earned)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if want := "lots [50 20], holds [5], earned 77"; seen["ahead"] != want || seen["lazy"] != want {
			t.Errorf("inside the transaction, read ahead: %s; read when needed: %s; want %s", seen["ahead"], seen["lazy"], want)
		}
		ahead, lazy := readWallet(t, db, tenant.ID, "ahead"), readWallet(t, db, tenant.ID, "lazy")
		if ahead.String() != lazy.String() || fmt.Sprint(lazy.remaining) != "[40 20]" || lazy.earned != 77 {
			t.Errorf("after commit, read ahead: %s; read when needed: %s; want lots [40 20], earned 77", ahead, lazy)
		}
	})
}

// TestUnitDuplicates proves that a taken transactionId or orderId is ErrDuplicate whether it was
// committed earlier, written earlier in the same transaction and still unsent, or sent and then
// forgotten by the unit (after an Exec), or learnt through Prefetch; that none of these aborts the
// transaction (PostgreSQL refuses every statement after a failed one: a later query and the commit
// must work); and that the refused rows are not written.
func TestUnitDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, _ := setup(t, d)
		at := store.Micros(now)
		order := func(ref int64, id string) store.OrderRow {
			return store.OrderRow{TenantID: tenant.ID, CustomerRef: ref, OrderID: id, OrderDate: at, Currency: "USD",
				LineItems: "[]", Extra: "{}", CreatedAt: at}
		}
		txn := func(ref int64, id string) *store.Txn {
			return &store.Txn{TenantID: tenant.ID, CustomerRef: ref, TransactionID: id, Kind: loyalty.KindManualAccumulation,
				Points: 1, Currency: "USD", Time: at, CreatedAt: at}
		}
		var ref int64
		err := db.Write(ctx, func(tx *store.Tx) error {
			var err error
			if ref, err = tx.EnsureCustomer(ctx, tenant.ID, "d", now); err != nil {
				return err
			}
			if err := tx.InsertTxn(ctx, txn(ref, "dup-db")); err != nil {
				return err
			}
			return tx.InsertOrder(ctx, order(ref, "o-db"))
		})
		if err != nil {
			t.Fatal(err)
		}

		err = db.Write(ctx, func(tx *store.Tx) error {
			dup := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, store.ErrDuplicate) {
					t.Errorf("%s: %v, want ErrDuplicate", what, err)
				}
			}
			ok := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
			dup("transactionId committed earlier", tx.InsertTxn(ctx, txn(ref, "dup-db")))
			dup("orderId committed earlier", tx.InsertOrder(ctx, order(ref, "o-db")))
			first := txn(ref, "dup-tx")
			ok("first dup-tx", tx.InsertTxn(ctx, first))
			dup("transactionId written earlier in the transaction, unsent", tx.InsertTxn(ctx, txn(ref, "dup-tx")))
			ok("first o-tx", tx.InsertOrder(ctx, order(ref, "o-tx")))
			dup("orderId written earlier in the transaction, unsent", tx.InsertOrder(ctx, order(ref, "o-tx")))

			// An Exec sends the rows and makes the unit forget: the database answers now.
			ok("SetRefunded", tx.SetRefunded(ctx, first.ID, 0, false))
			dup("transactionId sent earlier, unit forgotten", tx.InsertTxn(ctx, txn(ref, "dup-tx")))
			dup("orderId sent earlier, unit forgotten", tx.InsertOrder(ctx, order(ref, "o-tx")))
			dup("transactionId committed earlier, unit forgotten", tx.InsertTxn(ctx, txn(ref, "dup-db")))

			// As a batch chunk does it: forget, then learn the ids with Prefetch.
			ok("SetRefunded", tx.SetRefunded(ctx, first.ID, 0, false))
			ok("Prefetch", tx.Prefetch(ctx, tenant.ID, store.PrefetchKeys{CustomerIDs: []string{"d"},
				TransactionIDs: []string{"dup-db", "dup-tx", "fresh"}, OrderIDs: []string{"o-db", "o-tx", "o-fresh"}, Points: true}))
			dup("transactionId committed earlier, prefetched", tx.InsertTxn(ctx, txn(ref, "dup-db")))
			dup("transactionId of this transaction, prefetched", tx.InsertTxn(ctx, txn(ref, "dup-tx")))
			dup("orderId committed earlier, prefetched", tx.InsertOrder(ctx, order(ref, "o-db")))
			dup("orderId of this transaction, prefetched", tx.InsertOrder(ctx, order(ref, "o-tx")))
			ok("fresh", tx.InsertTxn(ctx, txn(ref, "fresh")))
			dup("fresh again", tx.InsertTxn(ctx, txn(ref, "fresh")))
			ok("o-fresh", tx.InsertOrder(ctx, order(ref, "o-fresh")))
			dup("o-fresh again", tx.InsertOrder(ctx, order(ref, "o-fresh")))

			// The transaction is still usable.
			n, err := unitCount(ctx, tx, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ?`, tenant.ID)
			if err != nil {
				return fmt.Errorf("a query after the duplicates: %w", err)
			}
			if n != 3 {
				t.Errorf("%d transactions inside the transaction; want 3", n)
			}
			if exists, err := tx.OrderExists(ctx, tenant.ID, "o-fresh"); err != nil || !exists {
				t.Errorf("OrderExists(o-fresh): %v, %v", exists, err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("the transaction with the duplicates: %v", err)
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			for _, c := range []struct{ query, id string }{
				{`SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ? AND transaction_id = ?`, "dup-db"},
				{`SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ? AND transaction_id = ?`, "dup-tx"},
				{`SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ? AND transaction_id = ?`, "fresh"},
				{`SELECT COUNT(*) FROM orders WHERE tenant_id = ? AND order_id = ?`, "o-db"},
				{`SELECT COUNT(*) FROM orders WHERE tenant_id = ? AND order_id = ?`, "o-tx"},
				{`SELECT COUNT(*) FROM orders WHERE tenant_id = ? AND order_id = ?`, "o-fresh"},
			} {
				if n, err := unitCount(ctx, tx, c.query, tenant.ID, c.id); err != nil || n != 1 {
					t.Errorf("after commit, %d rows with %s (%v); want 1", n, c.id, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestUnitConflictRetries proves, on PostgreSQL, that a transaction whose unit read a key as free
// and lost it to a concurrent transaction before sending its rows is run again by DB.Write
// (ErrConflict), and that the new attempt sees the other transaction's row: exactly two attempts,
// no error, one row. Two keys: a new customer's customerId, and a transactionId. SQLite is skipped:
// its single writer runs the transactions one after the other, so B would wait for A. Every wait is
// bounded, so that a bug fails the test instead of hanging it.
func TestUnitConflictRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		if d == store.SQLite {
			t.Skip("SQLite's single writer serializes write transactions: no concurrent write can happen")
		}
		db, tenant, _ := setup(t, d)
		var ref int64
		err := db.Write(context.Background(), func(tx *store.Tx) error {
			var err error
			ref, err = tx.EnsureCustomer(context.Background(), tenant.ID, "existing", now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		at := store.Micros(now)
		txn := func(id string) *store.Txn {
			return &store.Txn{TenantID: tenant.ID, CustomerRef: ref, TransactionID: id, Kind: loyalty.KindManualAccumulation,
				Points: 1, Currency: "USD", Time: at, CreatedAt: at}
		}

		// race runs A, which calls write, lets B run and commit while it waits, and then returns nil;
		// it returns how many times A ran and A's error. aWrite gets the attempt number.
		race := func(t *testing.T, aWrite func(tx *store.Tx, attempt int32) error, bWrite func(tx *store.Tx) error) (int32, error) {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var attempts atomic.Int32
			aRead, bDone, aDone := make(chan struct{}), make(chan error, 1), make(chan error, 1)
			go func() {
				aDone <- db.Write(ctx, func(tx *store.Tx) error {
					n := attempts.Add(1)
					if err := aWrite(tx, n); err != nil {
						return err
					}
					if n == 1 {
						close(aRead)
						select {
						case err := <-bDone:
							if err != nil {
								return fmt.Errorf("B failed, A cannot go on: %w", err)
							}
						case <-ctx.Done():
							return fmt.Errorf("A waited for B: %w", ctx.Err())
						}
					}
					return nil
				})
			}()
			select {
			case <-aRead:
			case err := <-aDone:
				t.Fatalf("A ended before reading: %v", err)
			case <-ctx.Done():
				t.Fatal("A did not read in time")
			}
			bDone <- db.Write(ctx, bWrite)
			select {
			case err := <-aDone:
				return attempts.Load(), err
			case <-time.After(40 * time.Second):
				t.Fatal("A did not end")
				return 0, nil
			}
		}

		t.Run("new customer", func(t *testing.T) {
			ctx := context.Background()
			var aRefs [3]int64
			var bRef int64
			attempts, err := race(t, func(tx *store.Tx, attempt int32) error {
				id, err := tx.EnsureCustomer(ctx, tenant.ID, "x", now)
				if attempt <= 3 {
					aRefs[attempt-1] = id
				}
				return err
			}, func(tx *store.Tx) error {
				var err error
				bRef, err = tx.EnsureCustomer(ctx, tenant.ID, "x", now)
				return err
			})
			if err != nil || attempts != 2 {
				t.Fatalf("A ran %d times and returned %v; want 2 times and no error", attempts, err)
			}
			if aRefs[0] == bRef || aRefs[1] != bRef {
				t.Errorf("A's ids %v, B's %d: the first attempt must have made its own, the second found B's", aRefs[:2], bRef)
			}
			var n int64
			err = db.Read(ctx, func(tx *store.Tx) error {
				var err error
				n, err = unitCount(ctx, tx, `SELECT COUNT(*) FROM customers WHERE tenant_id = ? AND customer_id = 'x'`, tenant.ID)
				return err
			})
			if err != nil || n != 1 {
				t.Fatalf("%d customers x (%v); want 1", n, err)
			}
		})

		t.Run("transactionId", func(t *testing.T) {
			ctx := context.Background()
			var second error
			attempts, err := race(t, func(tx *store.Tx, attempt int32) error {
				err := tx.InsertTxn(ctx, txn("tc"))
				if attempt == 1 {
					return err
				}
				second = err
				return nil // as the engine does with a duplicate: nothing more to write
			}, func(tx *store.Tx) error {
				return tx.InsertTxn(ctx, txn("tc"))
			})
			if err != nil || attempts != 2 {
				t.Fatalf("A ran %d times and returned %v; want 2 times and no error", attempts, err)
			}
			if !errors.Is(second, store.ErrDuplicate) {
				t.Errorf("A's second attempt: %v, want ErrDuplicate", second)
			}
			var n int64
			err = db.Read(ctx, func(tx *store.Tx) error {
				var err error
				n, err = unitCount(ctx, tx, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ? AND transaction_id = 'tc'`, tenant.ID)
				return err
			})
			if err != nil || n != 1 {
				t.Fatalf("%d transactions tc (%v); want 1", n, err)
			}
		})
	})
}
