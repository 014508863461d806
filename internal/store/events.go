package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// InsertEvent stores one event of the tenant's customer and returns its id. metadata is the event's
// metadata as stored: compact JSON, as loyalty.Metadata.JSON writes it.
func (tx *Tx) InsertEvent(ctx context.Context, tenantID, customerRef int64, name string, metadata []byte, at time.Time) (int64, error) {
	id, err := tx.newID(ctx, "events")
	if err != nil {
		return 0, err
	}
	u := tx.unitOf()
	u.rows.events = append(u.rows.events, eventRow{id: id, tenantID: tenantID, customerRef: customerRef, name: name,
		metadata: string(metadata), at: Micros(at)})
	u.changes++
	return id, nil
}

// InsertEventAward records that a rule awarded points for an event. A rule awards at most once per
// event: a second award fails the transaction when the unit's rows are sent.
func (tx *Tx) InsertEventAward(ctx context.Context, eventID, customerRef int64, a loyalty.EventAward, at time.Time) error {
	u := tx.unitOf()
	u.rows.awards = append(u.rows.awards, awardRow{eventRef: eventID, customerRef: customerRef, ruleID: a.RuleID, points: a.Points,
		transactionID: a.TransactionID, at: Micros(at)})
	u.changes++
	return nil
}

// CountEventAwards counts the awards of the rule to the customer at or after since; the zero time
// counts them all. It counts the stored ones and adds those still in the unit, rather than sending
// the unit's rows for every event.
func (tx *Tx) CountEventAwards(ctx context.Context, customerRef int64, ruleID string, since time.Time) (int64, error) {
	var n int64
	err := tx.rawQueryRow(ctx, `SELECT COUNT(*) FROM event_awards WHERE customer_ref = ? AND rule_id = ? AND awarded_at >= ?`,
		customerRef, ruleID, Micros(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count awards of rule %q: %w", ruleID, err)
	}
	for _, a := range tx.unitOf().rows.awards {
		if a.customerRef == customerRef && a.ruleID == ruleID && a.at >= Micros(since) {
			n++
		}
	}
	return n, nil
}

// EventFilter selects a customer's events for ListEvents.
type EventFilter struct {
	Event      string    // only events of this name, when set
	From, To   time.Time // occurred at or after From and before To; a zero time leaves that end open
	StartAfter int64     // only events with a larger id: the cursor of the page before
	Limit      int       // at most this many
}

// timeRange is the SQL condition, with its arguments, that column lies in [from, to); a zero time
// leaves that end open.
func timeRange(column string, from, to time.Time) (string, []any) {
	var cond string
	var args []any
	if !from.IsZero() {
		cond += ` AND ` + column + ` >= ?`
		args = append(args, Micros(from))
	}
	if !to.IsZero() {
		cond += ` AND ` + column + ` < ?`
		args = append(args, Micros(to))
	}
	return cond, args
}

// ListEvents returns the customer's events that pass the filter, in the order they were stored,
// each with its awards.
func (tx *Tx) ListEvents(ctx context.Context, customerRef int64, f EventFilter) ([]loyalty.Event, error) {
	query := `SELECT id, name, metadata, occurred_at FROM events WHERE customer_ref = ? AND id > ?`
	args := []any{customerRef, f.StartAfter}
	if f.Event != "" {
		query += ` AND name = ?`
		args = append(args, f.Event)
	}
	cond, rangeArgs := timeRange("occurred_at", f.From, f.To)
	query += cond + ` ORDER BY id LIMIT ?`
	args = append(append(args, rangeArgs...), f.Limit)
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list events: %w", err)
	}
	defer rows.Close()
	events := []loyalty.Event{}
	for rows.Next() {
		var ev loyalty.Event
		var md string
		var at int64
		if err := rows.Scan(&ev.ID, &ev.Event, &md, &at); err != nil {
			return nil, fmt.Errorf("store: scan event: %w", err)
		}
		if err := json.Unmarshal([]byte(md), &ev.Metadata); err != nil {
			return nil, fmt.Errorf("store: decode metadata of event %d: %w", ev.ID, err)
		}
		ev.OccurredAt = FromMicros(at)
		ev.Awards = []loyalty.EventAward{}
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list events: %w", err)
	}
	if len(events) == 0 {
		return events, nil
	}
	return events, tx.attachAwards(ctx, customerRef, events)
}

// attachAwards fills in the awards of events, which are one customer's in id order.
func (tx *Tx) attachAwards(ctx context.Context, customerRef int64, events []loyalty.Event) error {
	byID := make(map[int64]*loyalty.Event, len(events))
	for i := range events {
		byID[events[i].ID] = &events[i]
	}
	// The page's ids span a range; awards in it for events the filter left out are skipped below.
	rows, err := tx.Query(ctx, `SELECT event_ref, rule_id, points, transaction_id FROM event_awards
		WHERE customer_ref = ? AND event_ref BETWEEN ? AND ? ORDER BY id`,
		customerRef, events[0].ID, events[len(events)-1].ID)
	if err != nil {
		return fmt.Errorf("store: list event awards: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var eventID int64
		var a loyalty.EventAward
		if err := rows.Scan(&eventID, &a.RuleID, &a.Points, &a.TransactionID); err != nil {
			return fmt.Errorf("store: scan event award: %w", err)
		}
		if ev, ok := byID[eventID]; ok {
			ev.AddAward(a)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: list event awards: %w", err)
	}
	return nil
}

// EventSummary counts the tenant's events by name over [from, to) (a zero time leaves that end
// open), with the distinct customers who sent them and the points they earned, in name order.
func (tx *Tx) EventSummary(ctx context.Context, tenantID int64, from, to time.Time) ([]loyalty.EventCount, error) {
	cond, args := timeRange("e.occurred_at", from, to)
	rows, err := tx.Query(ctx, `SELECT e.name, COUNT(*), COUNT(DISTINCT e.customer_ref),
			COALESCE(SUM((SELECT SUM(a.points) FROM event_awards a WHERE a.event_ref = e.id)), 0)
		FROM events e WHERE e.tenant_id = ?`+cond+` GROUP BY e.name ORDER BY e.name`,
		append([]any{tenantID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: summarise events: %w", err)
	}
	defer rows.Close()
	counts := []loyalty.EventCount{}
	for rows.Next() {
		var c loyalty.EventCount
		if err := rows.Scan(&c.Event, &c.Count, &c.Customers, &c.Points); err != nil {
			return nil, fmt.Errorf("store: scan event count: %w", err)
		}
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: summarise events: %w", err)
	}
	return counts, nil
}
