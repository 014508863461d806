package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// EventsRequest sends one or more events of one customer: event names mapped to their metadata
// (nil for none). An unknown customer is created.
type EventsRequest struct {
	CustomerID string                    `json:"customerId"`
	Events     map[string]map[string]any `json:"events"`
	Email      string                    `json:"email,omitempty"`
	Mobile     string                    `json:"mobile,omitempty"`
}

// EventAward is the points one event rule awarded for one event, a ledger entry with its own
// transaction id.
type EventAward struct {
	RuleID        string `json:"ruleId"`
	Points        int64  `json:"points"`
	TransactionID string `json:"transactionId"`
}

// Event is a stored event. Metadata values keep their exact JSON text; it is empty in the answer to
// SendEvents.
type Event struct {
	ID         int64                      `json:"id"`
	Event      string                     `json:"event"`
	OccurredAt time.Time                  `json:"occurredAt"`
	Metadata   map[string]json.RawMessage `json:"metadata,omitempty"`
	Points     int64                      `json:"points"`
	Awards     []EventAward               `json:"awards"`
}

// EventsResult is the answer to SendEvents: the stored events in name order, with the points each
// earned.
type EventsResult struct {
	Success    bool    `json:"success"`
	Message    string  `json:"message"`
	CustomerID string  `json:"customerId"`
	Points     int64   `json:"points"`
	Events     []Event `json:"events"`
}

// EventQuery selects a customer's events; zero fields do not filter.
type EventQuery struct {
	Event      string
	From, To   time.Time // at or after From, before To
	Limit      int
	StartAfter string // the NextCursor of the page before
}

// EventPage is one page of a customer's events, oldest first.
type EventPage struct {
	Events     []Event `json:"events"`
	HasMore    bool    `json:"hasMore"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

// EventCount sums up one event name's events over a time range.
type EventCount struct {
	Event     string `json:"event"`
	Count     int64  `json:"count"`
	Customers int64  `json:"customers"`
	Points    int64  `json:"points"`
}

// EventSummary counts a tenant's events by name over a time range.
type EventSummary struct {
	From   *time.Time   `json:"from"`
	To     *time.Time   `json:"to"`
	Events []EventCount `json:"events"`
}

// SendEvents stores events of a customer and awards the points of the event rules they meet (the
// API key is enough).
func (c *Client) SendEvents(ctx context.Context, req EventsRequest) (EventsResult, error) {
	return call[EventsResult](ctx, c, http.MethodPost, "/events", req)
}

// CustomerEvents reads one page of a customer's events (needs the secret key).
func (c *Client) CustomerEvents(ctx context.Context, customerID string, q EventQuery) (EventPage, error) {
	query := pageQuery(map[string]string{"event": q.Event, "from": timeText(q.From), "to": timeText(q.To)}, q.Limit, q.StartAfter)
	return get[EventPage](ctx, c, "/customers/"+esc(customerID)+"/events", query)
}

// EventSummary counts the tenant's events by name at or after from and before to; a zero time
// leaves that end open (needs the secret key).
func (c *Client) EventSummary(ctx context.Context, from, to time.Time) (EventSummary, error) {
	return get[EventSummary](ctx, c, "/events/summary", pageQuery(map[string]string{"from": timeText(from), "to": timeText(to)}, 0, ""))
}

// timeText writes a time as a query parameter; the zero time is left out.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
