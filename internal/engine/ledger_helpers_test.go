package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/clock"
	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/pgtest"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// propertyChecks is how many random sequences rapid runs per database unless -rapid.checks or
// RAPID_CHECKS asks for another number: the property tests talk to real databases, and the whole
// suite has a time budget.
const propertyChecks = "25"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if _, env := os.LookupEnv("RAPID_CHECKS"); !set && !env {
		if err := flag.Set("rapid.checks", propertyChecks); err != nil {
			panic(err)
		}
	}
	pgtest.Main(m)
}

var ctx = context.Background()

// tb is what the helpers need of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// ledger is a database with one tenant and an engine on a fake clock.
type ledger struct {
	db     *store.DB
	e      *engine.Engine
	clock  *clock.Fake
	tenant int64
}

// TestLedger runs the points engine's tests on each database. They share one database per dialect,
// each on tenants of its own, because creating a PostgreSQL database costs more than most tests.
func TestLedger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		db := storetest.Open(t, d)
		tests := []struct {
			name string
			fn   func(*testing.T, *ledger)
		}{
			{"cashback rounds down", testCashbackRoundsDown},
			{"pending becomes available and activate", testPendingBecomesAvailableAndActivate},
			{"expiry first expiring first", testExpiryFirstExpiringFirst},
			{"holds", testHolds},
			{"order redeems hold", testOrderRedeemsHold},
			{"refunds", testRefunds},
			{"failures change nothing", testFailuresChangeNothing},
			{"program changes apply later", testProgramChangesApplyLater},
			{"transactions paging", testTransactionsPaging},
			{"concurrent redemptions of one hold", testConcurrentRedemptionsOfOneHold},
			{"concurrent redemptions beyond the balance", testConcurrentRedemptionsBeyondTheBalance},
			{"concurrent earning and duplicates", testConcurrentEarningAndDuplicates},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, newLedger(t, db)) })
		}
		t.Run("invariants", func(t *testing.T) { testLedgerInvariants(t, db) })
	})
}

// newLedger gives the test a tenant of its own, with the default program, on a fresh fake clock.
func newLedger(t tb, db *store.DB) *ledger {
	t.Helper()
	ledgers++
	l := &ledger{db: db, clock: clock.NewFake(start)}
	l.e = &engine.Engine{Now: l.clock.Now}
	l.tenant = l.newTenant(t, fmt.Sprintf("tenant-%d", ledgers))
	return l
}

// ledgers counts the tenants newLedger made, to name them apart.
var ledgers int

// newTenant adds a tenant, which starts with the default program.
func (l *ledger) newTenant(t tb, name string) int64 {
	t.Helper()
	var id int64
	err := l.db.Write(ctx, func(tx *store.Tx) error {
		ten, _, err := tx.CreateTenant(ctx, name, start)
		id = ten.ID
		return err
	})
	if err != nil {
		t.Fatalf("%v", err)
	}
	return id
}

// setProgram changes the tenant's program, starting from the defaults.
func (l *ledger) setProgram(t tb, tenant int64, change func(p *loyalty.Program)) {
	t.Helper()
	p := loyalty.DefaultProgram()
	change(&p)
	if _, err := run(l, tenant, l.e.SetProgram, &p); err != nil {
		t.Fatalf("%v", err)
	}
}

// run applies one operation in its own write transaction, as a single API call does.
func run[Req, Res any](l *ledger, tenant int64, op engine.Op[Req, Res], req *Req) (Res, error) {
	var res Res
	err := l.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		res, err = op(ctx, tx, tenant, req)
		return err
	})
	return res, err
}

// must is run that fails the test on error.
func must[Req, Res any](t tb, l *ledger, op engine.Op[Req, Res], req *Req) Res {
	t.Helper()
	res, err := run(l, l.tenant, op, req)
	if err != nil {
		t.Fatalf("%T: %v", req, err)
	}
	return res
}

// wantCode asserts that err is a loyalty error with the code.
func wantCode(t tb, err error, code loyalty.Code) {
	t.Helper()
	e, ok := loyalty.AsError(err)
	if !ok || e.Code != code {
		t.Fatalf("got %v, want code %d", err, code)
	}
}

func (l *ledger) balance(t tb, customerID string) engine.BalanceResult {
	t.Helper()
	var b engine.BalanceResult
	err := l.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		b, err = l.e.Balance(ctx, tx, l.tenant, customerID)
		return err
	})
	if err != nil {
		t.Fatalf("balance of %s: %v", customerID, err)
	}
	return b
}

// points is the (total, available, pending, held) of a balance, for compact assertions.
func points(b engine.BalanceResult) [4]int64 {
	return [4]int64{b.TotalPointsBalance, b.AvailablePointsBalance, b.PendingPoints, b.HeldPoints}
}

func (l *ledger) wantPoints(t tb, customerID string, total, available, pending, held int64) engine.BalanceResult {
	t.Helper()
	b := l.balance(t, customerID)
	if got, want := points(b), [4]int64{total, available, pending, held}; got != want {
		t.Fatalf("%s at %s: (total, available, pending, held) = %v, want %v", customerID, l.clock.Now().Format(time.RFC3339), got, want)
	}
	return b
}

func ts(t time.Time) string { return t.Format(time.RFC3339) }

func ptr[T any](v T) *T { return &v }

func num(s string) *json.Number { n := json.Number(s); return &n }

func manual(customer, id string, points int64) *loyalty.ManualRequest {
	return &loyalty.ManualRequest{CustomerID: customer, TransactionID: id, Points: &points}
}

func redeem(customer, id string, points int64) *loyalty.RedeemRequest {
	return &loyalty.RedeemRequest{CustomerID: customer, TransactionID: id, TransactionTime: ts(start), Points: &points}
}

func order(customer, id, paid string) *loyalty.OrderRequest {
	return &loyalty.OrderRequest{CustomerID: customer, OrderID: id, OrderDate: ts(start), TotalPaid: json.Number(paid)}
}

// ledgerState is what the database says about a tenant's points, read with plain SQL so that the
// invariant checks do not trust the engine's own reading.
type ledgerState struct {
	customers map[string]int64 // customerId -> numeric id
	lots      []lotRow
	entries   map[int64]int64 // lot -> sum of its entries
	byCust    map[int64]int64 // customer -> sum of their entries
	holds     []store.Hold
	txns      int // transactions recorded
}

type lotRow struct {
	id, customer, points, remaining, availableAt, expiresAt int64
}

func readState(t tb, l *ledger, tenant int64) ledgerState {
	t.Helper()
	var s ledgerState
	err := l.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		s, err = readStateTx(tx, tenant)
		return err
	})
	if err != nil {
		t.Fatalf("read ledger state: %v", err)
	}
	return s
}

func readStateTx(tx *store.Tx, tenant int64) (ledgerState, error) {
	s := ledgerState{customers: map[string]int64{}, entries: map[int64]int64{}, byCust: map[int64]int64{}}
	err := func() error {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM point_transactions WHERE tenant_id = ?`, tenant).Scan(&s.txns); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, customer_id FROM customers WHERE tenant_id = ?`, tenant)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			s.customers[name] = id
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT l.id, l.customer_ref, l.points, l.remaining, l.available_at, l.expires_at
			FROM point_lots l JOIN customers c ON c.id = l.customer_ref WHERE c.tenant_id = ? ORDER BY l.id`, tenant)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r lotRow
			if err := rows.Scan(&r.id, &r.customer, &r.points, &r.remaining, &r.availableAt, &r.expiresAt); err != nil {
				return err
			}
			s.lots = append(s.lots, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT e.lot_ref, e.customer_ref, e.points FROM point_entries e
			JOIN customers c ON c.id = e.customer_ref WHERE c.tenant_id = ?`, tenant)
		if err != nil {
			return err
		}
		for rows.Next() {
			var lot, cust, p int64
			if err := rows.Scan(&lot, &cust, &p); err != nil {
				return err
			}
			s.entries[lot] += p
			s.byCust[cust] += p
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT id, customer_ref, reference, points, allocation, status, expires_at
			FROM point_holds WHERE tenant_id = ? ORDER BY id`, tenant)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h store.Hold
			var alloc string
			if err := rows.Scan(&h.ID, &h.CustomerRef, &h.Reference, &h.Points, &alloc, &h.Status, &h.ExpiresAt); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(alloc), &h.Allocation); err != nil {
				return err
			}
			s.holds = append(s.holds, h)
		}
		return rows.Err()
	}()
	return s, err
}
