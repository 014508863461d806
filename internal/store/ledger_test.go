package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// The ledger's guards hold on both databases: a taken transactionId, orderId or hold reference is
// ErrDuplicate without aborting the transaction, a lot never goes below zero, a hold ends once, and
// deleting a customer deletes their ledger.
func TestLedgerGuards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, tenant, _ := setup(t, d)
		at := store.Micros(now)
		var lot store.Lot
		var hold store.Hold
		err := db.Write(ctx, func(tx *store.Tx) error {
			ref, err := tx.EnsureCustomer(ctx, tenant.ID, "ada", now)
			if err != nil {
				return err
			}
			t1 := store.Txn{TenantID: tenant.ID, CustomerRef: ref, TransactionID: "t-1", Kind: loyalty.KindManualAccumulation,
				Points: 100, Currency: "USD", Time: at, CreatedAt: at, AvailableAt: at, ExpiresAt: store.Never}
			if err := tx.InsertTxn(ctx, &t1); err != nil {
				return err
			}
			again := t1
			if err := tx.InsertTxn(ctx, &again); !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("second t-1: %v, want ErrDuplicate", err)
			}
			// The transaction goes on after a duplicate (PostgreSQL would refuse every statement
			// after a unique violation).
			lot = store.Lot{CustomerRef: ref, TransactionRef: t1.ID, Points: 100, AvailableAt: at, ExpiresAt: store.Never}
			if err := tx.InsertLot(ctx, &lot, at); err != nil {
				return err
			}
			if err := tx.AddLifetimeEarned(ctx, ref, 100); err != nil {
				return err
			}
			order := store.OrderRow{TenantID: tenant.ID, CustomerRef: ref, OrderID: "o-1", OrderDate: at, Currency: "USD",
				LineItems: "[]", Extra: "{}", CreatedAt: at}
			if err := tx.InsertOrder(ctx, order); err != nil {
				return err
			}
			if err := tx.InsertOrder(ctx, order); !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("second o-1: %v, want ErrDuplicate", err)
			}
			hold = store.Hold{TenantID: tenant.ID, CustomerRef: ref, Reference: "h-1", Points: 10, Currency: "USD",
				Allocation: []store.Move{{Lot: lot.ID, Points: 10}}, CreatedAt: at, ExpiresAt: at + 60e6}
			if err := tx.InsertHold(ctx, &hold); err != nil {
				return err
			}
			dup := hold
			if err := tx.InsertHold(ctx, &dup); !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("second h-1: %v, want ErrDuplicate", err)
			}
			if err := tx.EndHold(ctx, hold.ID, store.HoldStatusReleased, at, 0); err != nil {
				return err
			}
			if err := tx.EndHold(ctx, hold.ID, store.HoldStatusUsed, at, t1.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second end of the hold: %v, want ErrNotFound", err)
			}
			return tx.DebitLots(ctx, ref, t1.ID, []store.Move{{Lot: lot.ID, Points: -60}}, at)
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			return tx.DebitLots(ctx, lot.CustomerRef, lot.TransactionRef, []store.Move{{Lot: lot.ID, Points: -41}}, at)
		})
		if err == nil {
			t.Fatal("a lot with 40 points left gave 41")
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			// Each move alone fits; together they would take the lot below zero.
			twice := []store.Move{{Lot: lot.ID, Points: -30}, {Lot: lot.ID, Points: -30}}
			if err := tx.DebitLots(ctx, lot.CustomerRef, lot.TransactionRef, twice, at); err == nil {
				t.Error("two debits of 30 from a lot with 40 points left: no error")
			}
			return nil // the transaction commits: the refused debits must have changed nothing
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			lots, err := tx.LiveLots(ctx, lot.CustomerRef)
			if err != nil || len(lots) != 1 || lots[0].Remaining != 40 {
				t.Errorf("lots after the debits: %+v, %v", lots, err)
			}
			return tx.DeleteCustomer(ctx, tenant.ID, "ada")
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			for _, table := range []string{"point_transactions", "point_lots", "point_entries", "point_holds", "orders", "point_accounts"} {
				var n int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
					return err
				}
				if n != 0 {
					t.Errorf("%s keeps %d rows of the deleted customer", table, n)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
