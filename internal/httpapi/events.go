package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/openapi"
	"github.com/tally-loyalty/tally/internal/store"
)

// EventPage is the answer of GET /customers/{customerId}/events.
type EventPage struct {
	Events     []loyalty.Event `json:"events"`
	HasMore    bool            `json:"hasMore"`
	NextCursor string          `json:"nextCursor,omitempty" doc:"Pass as startAfter to read the next page; set when hasMore is."`
}

// EventSummary is the answer of GET /events/summary.
type EventSummary struct {
	From   *time.Time           `json:"from" doc:"Start of the range (inclusive); null when open."`
	To     *time.Time           `json:"to" doc:"End of the range (exclusive); null when open."`
	Events []loyalty.EventCount `json:"events" doc:"One entry per event name, in name order."`
}

func (s *Server) eventRoutes() []route {
	tags := []string{"Events"}
	rangeParams := []openapi.Param{
		{Name: "from", Description: "Only events at or after this time (RFC 3339, or a date meaning its midnight UTC)."},
		{Name: "to", Description: "Only events before this time (RFC 3339, or a date meaning its midnight UTC)."},
	}
	list := op("GET", "/customers/{customerId}/events", "List a customer's events, oldest first", tags, true, nil, EventPage{}, http.StatusNotFound)
	list.Query = append([]openapi.Param{
		{Name: "event", Description: "Only events of this name."},
		{Name: "limit", Type: "integer", Description: "Events per page, 1 to 200 (default 50)."},
		{Name: "startAfter", Description: "The nextCursor of the page before."},
	}, rangeParams...)
	summary := op("GET", "/events/summary", "Count the tenant's events by name over a time range", tags, true, nil, EventSummary{})
	summary.Query = rangeParams
	return []route{
		{Operation: op("POST", "/events", "Send events: store them and award the points of matching event rules", tags, false,
			loyalty.EventsRequest{}, engine.EventsResult{}), handle: writeOp(s, s.cfg.Engine.TrackEvents)},
		{Operation: list, handle: s.listCustomerEvents},
		{Operation: summary, handle: s.eventSummary},
	}
}

func (s *Server) listCustomerEvents(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	f := store.EventFilter{Event: r.URL.Query().Get("event"), Limit: page.Limit}
	if page.StartAfter != "" {
		f.StartAfter, err = strconv.ParseInt(page.StartAfter, 10, 64)
		if err != nil || f.StartAfter < 1 {
			return loyalty.FieldErrorf(loyalty.CodeInvalidValue, "startAfter", "is not a cursor this server made")
		}
	}
	if f.From, f.To, err = timeRangeOf(r); err != nil {
		return err
	}
	res := EventPage{}
	err = s.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		res.Events, res.HasMore, err = s.cfg.Engine.CustomerEvents(r.Context(), tx, tenantOf(r).ID, r.PathValue("customerId"), f)
		return err
	})
	if err != nil {
		return err
	}
	if res.HasMore {
		res.NextCursor = strconv.FormatInt(res.Events[len(res.Events)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) eventSummary(w http.ResponseWriter, r *http.Request) error {
	from, to, err := timeRangeOf(r)
	if err != nil {
		return err
	}
	res := EventSummary{}
	if !from.IsZero() {
		res.From = &from
	}
	if !to.IsZero() {
		res.To = &to
	}
	err = s.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		res.Events, err = s.cfg.Engine.EventSummary(r.Context(), tx, tenantOf(r).ID, from, to)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// timeRangeOf reads the optional `from` and `to` query parameters; an absent one is the zero time.
func timeRangeOf(r *http.Request) (from, to time.Time, err error) {
	if from, err = timeParam(r, "from"); err != nil {
		return from, to, err
	}
	to, err = timeParam(r, "to")
	return from, to, err
}

// timeParam reads an optional time from the query string: RFC 3339, or a date for its midnight UTC.
func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, name, "must be an RFC 3339 time such as 2026-01-31T09:00:00Z, or a date such as 2026-01-31")
}
