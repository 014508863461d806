package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/loyalty"
)

// clientAPI is the batch API of a Tally server, through the public client. Every call is retried
// while the server asks to slow down (429) or cannot be reached for a moment; that is safe because
// a batch is submitted with its Idempotency-Key and the other calls change nothing or change it
// to the same end.
type clientAPI struct {
	c    *client.Client
	poll time.Duration
}

// itemsPage is how many item results one call reads: the API's largest page.
const itemsPage = 200

func (a clientAPI) submit(ctx context.Context, batchType string, items []json.RawMessage, key string) (int64, error) {
	created, err := retry(ctx, func() (client.BatchCreated, error) {
		return a.c.SubmitBatch(ctx, batchType, items, key)
	})
	return created.JobID, err
}

func (a clientAPI) failures(ctx context.Context, jobID int64) (map[int]Failure, error) {
	if err := a.wait(ctx, jobID); err != nil {
		return nil, err
	}
	job, err := retry(ctx, func() (client.Batch, error) { return a.c.GetBatch(ctx, jobID) })
	if err != nil {
		return nil, err
	}
	failures := map[int]Failure{}
	statuses := []string{"failed"}
	if job.Status == client.BatchStopped {
		statuses = append(statuses, "stopped")
	}
	for _, status := range statuses {
		for cursor, more := "", true; more; {
			page, err := retry(ctx, func() (client.BatchItemsPage, error) {
				return a.c.BatchItems(ctx, jobID, status, itemsPage, cursor)
			})
			if err != nil {
				return nil, err
			}
			for _, it := range page.Items {
				failures[it.Index] = itemFailure(it)
			}
			cursor, more = page.NextCursor, page.HasMore
		}
	}
	if job.FinishedCount+len(failures) != job.TotalCount {
		return nil, fmt.Errorf("batch %d ended %s with %d of its %d items accounted for", jobID, job.Status,
			job.FinishedCount+len(failures), job.TotalCount)
	}
	return failures, nil
}

// wait returns once no item of the job is pending, which is when the job has ended. It asks for one
// pending item at a time: on a server busy with the import, that costs far less than polling
// GetBatch, which answers with every result so far.
func (a clientAPI) wait(ctx context.Context, jobID int64) error {
	for {
		page, err := retry(ctx, func() (client.BatchItemsPage, error) {
			return a.c.BatchItems(ctx, jobID, "pending", 1, "")
		})
		if err != nil || len(page.Items) == 0 {
			return err
		}
		if err := sleep(ctx, a.poll); err != nil {
			return err
		}
	}
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// itemFailure is why a batch item did not apply. The server names fields by the item's place in
// the batch ("body[17].orderDate"); the report names the row by its line, so the prefix goes.
func itemFailure(it client.BatchItem) Failure {
	if it.Result == nil {
		return Failure{Code: int(loyalty.CodeFailed), Message: "not applied: the batch was stopped; import the report to apply it"}
	}
	msg := it.Result.Message
	if prefix := fmt.Sprintf("body[%d].", it.Index); strings.HasPrefix(msg, prefix) {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return Failure{Code: it.Result.Code, Message: msg}
}

// Retrying: the server's Retry-After is obeyed for as long as it asks; an unreachable or
// overloaded server (no answer, 502, 503, 504) is tried again after growing pauses, a few times.
const (
	firstPause       = 500 * time.Millisecond
	maxPause         = 8 * time.Second
	transientRetries = 6
)

func retry[T any](ctx context.Context, call func() (T, error)) (T, error) {
	pause, failures := firstPause, 0
	for {
		v, err := call()
		if err == nil || ctx.Err() != nil {
			return v, err
		}
		var apiErr *client.Error
		wait := pause
		switch {
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests:
			wait = max(apiErr.RetryAfter, firstPause)
		case errors.As(err, &apiErr) && apiErr.StatusCode != http.StatusBadGateway &&
			apiErr.StatusCode != http.StatusServiceUnavailable && apiErr.StatusCode != http.StatusGatewayTimeout:
			return v, err
		default:
			if failures++; failures > transientRetries {
				return v, err
			}
			pause = min(2*pause, maxPause)
		}
		if err := sleep(ctx, wait); err != nil {
			return v, err
		}
	}
}
