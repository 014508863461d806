package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// EventsResult is the answer to POST /events: the reference API's success flag and message, plus
// Tally's additions.
type EventsResult struct {
	Success    bool            `json:"success"`
	Message    string          `json:"message"`
	CustomerID string          `json:"customerId"`
	Points     int64           `json:"points" doc:"Points the events earned, in total."`
	Events     []loyalty.Event `json:"events" doc:"The stored events in name order, each with the awards it earned."`
}

// TrackEvents stores the request's events for its customer, creating an unknown customer, and awards
// the points of every event rule each event meets, within the rules' caps.
func (e *Engine) TrackEvents(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.EventsRequest) (EventsResult, error) {
	inputs, err := req.Parse()
	if err != nil {
		return EventsResult{}, err
	}
	program, err := e.Program(ctx, tx, tenantID)
	if err != nil {
		return EventsResult{}, err
	}
	now := e.Now().Truncate(time.Microsecond) // as stored, so the answer shows what a read returns
	customerRef, err := tx.EnsureCustomer(ctx, tenantID, req.CustomerID, now)
	if err != nil {
		return EventsResult{}, err
	}
	if err := e.fillContacts(ctx, tx, tenantID, req, now); err != nil {
		return EventsResult{}, err
	}
	res := EventsResult{Success: true, Message: "Events processed", CustomerID: req.CustomerID,
		Events: make([]loyalty.Event, 0, len(inputs))}
	for _, in := range inputs {
		id, err := tx.InsertEvent(ctx, tenantID, customerRef, in.Name, in.StoredMetadata, now)
		if err != nil {
			return EventsResult{}, err
		}
		ev := loyalty.Event{ID: id, Event: in.Name, OccurredAt: now, Awards: []loyalty.EventAward{}}
		if err := e.applyEventRules(ctx, tx, tenantID, req.CustomerID, customerRef, program.EventRules, &ev, in.Metadata); err != nil {
			return EventsResult{}, err
		}
		res.Points += ev.Points
		res.Events = append(res.Events, ev)
	}
	return res, nil
}

// EventsAwardPoints reports whether the tenant's program has event rules, without which tracking
// events never reads or changes a customer's points.
func (e *Engine) EventsAwardPoints(ctx context.Context, tx *store.Tx, tenantID int64) (bool, error) {
	program, err := e.Program(ctx, tx, tenantID)
	return len(program.EventRules) > 0, err
}

// fillContacts sets the email and mobile the request names on a profile that has none; changing
// them is the job of POST /customers.
func (e *Engine) fillContacts(ctx context.Context, tx *store.Tx, tenantID int64, req *loyalty.EventsRequest, now time.Time) error {
	if req.Email == "" && req.Mobile == "" {
		return nil
	}
	c, err := tx.GetCustomer(ctx, tenantID, req.CustomerID)
	if err != nil {
		return err
	}
	changed := false
	if c.Email == "" && req.Email != "" {
		c.Email, changed = req.Email, true
	}
	if c.Mobile == "" && req.Mobile != "" {
		c.Mobile, changed = req.Mobile, true
	}
	if !changed {
		return nil
	}
	_, err = tx.SaveCustomer(ctx, tenantID, c, now)
	return err
}

// applyEventRules awards the points of every rule the stored event ev meets, unless the rule's cap
// for the customer is reached, and adds the awards to ev in rule order. Each award's transaction id
// is derived from the event and the rule, so applying the rules to the same event again awards
// nothing twice: the points engine refuses a repeated transaction id with 9004.
func (e *Engine) applyEventRules(ctx context.Context, tx *store.Tx, tenantID int64, customerID string, customerRef int64,
	rules []loyalty.EventRule, ev *loyalty.Event, md loyalty.Metadata) error {
	for i := range rules {
		r := &rules[i]
		if !r.Matches(ev.Event, md) {
			continue
		}
		capped, err := capReached(ctx, tx, customerRef, r, ev.OccurredAt)
		if err != nil {
			return err
		}
		if capped {
			continue
		}
		a := loyalty.EventAward{RuleID: r.RuleID(), Points: r.Points, TransactionID: eventTransactionID(ev.ID, r.RuleID())}
		_, err = e.Award(ctx, tx, tenantID, Award{CustomerID: customerID, Points: a.Points, Kind: loyalty.KindAchievementReward,
			TransactionID: a.TransactionID, Reason: fmt.Sprintf("event %s, rule %s", ev.Event, a.RuleID)})
		if err != nil {
			return fmt.Errorf("engine: award rule %q for event %d: %w", a.RuleID, ev.ID, err)
		}
		if err := tx.InsertEventAward(ctx, ev.ID, customerRef, a, ev.OccurredAt); err != nil {
			return err
		}
		ev.AddAward(a)
	}
	return nil
}

// eventTransactionID is the ledger transaction id of the points rule ruleID awarded for the stored
// event eventID.
func eventTransactionID(eventID int64, ruleID string) string {
	return fmt.Sprintf("%sevent:%d:%s", loyalty.GeneratedIDPrefix, eventID, ruleID)
}

// capReached reports whether the rule has already awarded the customer as often as its caps allow:
// in total, or on the UTC day of at.
func capReached(ctx context.Context, tx *store.Tx, customerRef int64, r *loyalty.EventRule, at time.Time) (bool, error) {
	caps := []struct {
		max   int64
		since time.Time
	}{
		{r.MaxPerCustomer, time.Time{}},
		{r.MaxPerCustomerPerDay, at.UTC().Truncate(24 * time.Hour)}, // midnight UTC
	}
	for _, c := range caps {
		if c.max == 0 {
			continue
		}
		n, err := tx.CountEventAwards(ctx, customerRef, r.RuleID(), c.since)
		if err != nil {
			return false, err
		}
		if n >= c.max {
			return true, nil
		}
	}
	return false, nil
}

// CustomerEvents returns a page of the tenant's customer's events that pass the filter, and whether
// more follow. An unknown customer is a 7000 error.
func (e *Engine) CustomerEvents(ctx context.Context, tx *store.Tx, tenantID int64, customerID string, f store.EventFilter) ([]loyalty.Event, bool, error) {
	if err := loyalty.CheckID("customerId", customerID); err != nil {
		return nil, false, err
	}
	if f.Event != "" {
		if err := loyalty.CheckName("event", f.Event); err != nil {
			return nil, false, err
		}
	}
	if err := checkTimeRange(f.From, f.To); err != nil {
		return nil, false, err
	}
	customerRef, err := tx.LockCustomer(ctx, tenantID, customerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, customerNotFound(customerID)
	}
	if err != nil {
		return nil, false, err
	}
	limit := f.Limit
	f.Limit++ // one more tells whether another page follows
	events, err := tx.ListEvents(ctx, customerRef, f)
	if err != nil || len(events) <= limit {
		return events, false, err
	}
	return events[:limit], true, nil
}

// EventSummary counts the tenant's events by name over [from, to); a zero time leaves that end open.
func (e *Engine) EventSummary(ctx context.Context, tx *store.Tx, tenantID int64, from, to time.Time) ([]loyalty.EventCount, error) {
	if err := checkTimeRange(from, to); err != nil {
		return nil, err
	}
	return tx.EventSummary(ctx, tenantID, from, to)
}

func checkTimeRange(from, to time.Time) error {
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return loyalty.FieldErrorf(loyalty.CodeInvalidValue, "to", "must be after from")
	}
	return nil
}
