package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// BatchCreated is the answer to a batch submission.
type BatchCreated struct {
	JobID      int64  `json:"jobId"`
	Status     string `json:"status"`
	TotalCount int    `json:"totalCount"`
	Link       string `json:"link"`
}

// Batch job statuses. A job ends completed (possibly with failed items), failed (no item
// succeeded, or the job could not run) or stopped.
const (
	BatchQueued    = "queued"
	BatchRunning   = "running"
	BatchCompleted = "completed"
	BatchFailed    = "failed"
	BatchStopped   = "stopped"
)

// Batch is a batch job's status, counts and, from GetBatch, the results so far.
type Batch struct {
	JobID          int64          `json:"jobId"`
	Type           string         `json:"type"`
	Operation      string         `json:"operation"`
	Status         string         `json:"status"`
	TotalCount     int            `json:"totalCount"`
	FinishedCount  int            `json:"finishedCount"`
	ErrorCount     int            `json:"errorCount"`
	ProcessedCount int            `json:"processedCount"`
	StoppedCount   int            `json:"stoppedCount"`
	CreatedAt      time.Time      `json:"createdAt"`
	StartedAt      *time.Time     `json:"startedAt"`
	CompletedAt    *time.Time     `json:"completedAt"`
	Response       *BatchResponse `json:"response,omitempty"`
}

// Ended reports whether the job has reached a final status.
func (b Batch) Ended() bool {
	return b.Status == BatchCompleted || b.Status == BatchFailed || b.Status == BatchStopped
}

// BatchResponse holds the results of a job's processed items, in index order.
type BatchResponse struct {
	Successful []BatchResult `json:"successful"`
	Failed     []BatchResult `json:"failed"`
}

// BatchResult is the result of one processed item. Raw is the whole object, which also holds the
// operation's own result fields (points, balances, ...).
type BatchResult struct {
	Index      int          `json:"index"`
	CustomerID string       `json:"customerId"`
	Message    string       `json:"message"`
	Error      string       `json:"error,omitempty"`
	Code       int          `json:"code,omitempty"`
	Type       string       `json:"type,omitempty"`
	Errors     []FieldError `json:"errors,omitempty"`
	Raw        json.RawMessage
}

// UnmarshalJSON decodes the result and keeps its JSON in Raw.
func (r *BatchResult) UnmarshalJSON(data []byte) error {
	type plain BatchResult
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*r = BatchResult(p)
	r.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// BatchItem is one item of a job: its status, the item as submitted and, once processed, its result.
type BatchItem struct {
	Index   int             `json:"index"`
	Status  string          `json:"status"`
	Request json.RawMessage `json:"request"`
	Result  *BatchResult    `json:"result,omitempty"`
}

// BatchItemsPage is a page of a job's items.
type BatchItemsPage struct {
	Items      []BatchItem `json:"items"`
	HasMore    bool        `json:"hasMore"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// BatchList is a page of the tenant's jobs, newest first, without their results.
type BatchList struct {
	Jobs       []Batch `json:"jobs"`
	HasMore    bool    `json:"hasMore"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

// SubmitBatch submits items (a slice of request bodies, or of orderId strings for
// "orders/transactions") as a batch of the type, e.g. "customers" or "balance-adjustment". A
// non-empty idempotencyKey makes a retried submission return the first job instead of a new one.
func (c *Client) SubmitBatch(ctx context.Context, batchType string, items any, idempotencyKey string) (BatchCreated, error) {
	body, err := json.Marshal(struct {
		Body any `json:"body"`
	}{items})
	if err != nil {
		return BatchCreated{}, fmt.Errorf("tally: encode batch: %w", err)
	}
	r := Request{Method: http.MethodPost, Path: "/batch/" + batchType, Body: body}
	if idempotencyKey != "" {
		r.Header = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	var res BatchCreated
	err = c.Send(ctx, r, &res)
	return res, err
}

// GetBatch returns a job's status, counts and results so far.
func (c *Client) GetBatch(ctx context.Context, jobID int64) (Batch, error) {
	return call[Batch](ctx, c, http.MethodGet, "/batch/"+strconv.FormatInt(jobID, 10), nil)
}

// BatchItems returns a page of a job's items in index order: all of them when status is empty, or
// those pending, succeeded, failed or stopped. limit 0 means the server's default; startAfter is
// the previous page's NextCursor, empty for the first page.
func (c *Client) BatchItems(ctx context.Context, jobID int64, status string, limit int, startAfter string) (BatchItemsPage, error) {
	return get[BatchItemsPage](ctx, c, "/batch/"+strconv.FormatInt(jobID, 10)+"/items",
		pageQuery(map[string]string{"status": status}, limit, startAfter))
}

// ListBatches returns a page of the tenant's jobs, newest first, optionally only those with the
// status or of the type.
func (c *Client) ListBatches(ctx context.Context, status, batchType string, limit int, startAfter string) (BatchList, error) {
	return get[BatchList](ctx, c, "/batch", pageQuery(map[string]string{"status": status, "type": batchType}, limit, startAfter))
}

// StopBatch stops a job: items already applied stay applied, the others are never applied. It
// returns the job as stopped; a job that had already ended is returned unchanged.
func (c *Client) StopBatch(ctx context.Context, jobID int64) (Batch, error) {
	return call[Batch](ctx, c, http.MethodDelete, "/batch/"+strconv.FormatInt(jobID, 10), nil)
}

// WaitBatch polls the job every poll until it has ended or ctx is done, and returns it as last seen.
func (c *Client) WaitBatch(ctx context.Context, jobID int64, poll time.Duration) (Batch, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		b, err := c.GetBatch(ctx, jobID)
		if err != nil || b.Ended() {
			return b, err
		}
		select {
		case <-ctx.Done():
			return b, fmt.Errorf("tally: wait for batch %d: %w", jobID, ctx.Err())
		case <-t.C:
		}
	}
}
