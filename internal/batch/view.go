package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// Job is a batch job as GET /batch/{jobId} shows it.
type Job struct {
	JobID          int64      `json:"jobId"`
	Type           string     `json:"type"`
	Operation      string     `json:"operation"`
	Status         string     `json:"status" enum:"queued,running,completed,failed,stopped"`
	TotalCount     int        `json:"totalCount" doc:"Items submitted."`
	FinishedCount  int        `json:"finishedCount" doc:"Items that succeeded."`
	ErrorCount     int        `json:"errorCount" doc:"Items that failed."`
	ProcessedCount int        `json:"processedCount" doc:"Items that succeeded or failed."`
	StoppedCount   int        `json:"stoppedCount" doc:"Items never processed because the job was stopped."`
	CreatedAt      time.Time  `json:"createdAt"`
	StartedAt      *time.Time `json:"startedAt"`
	CompletedAt    *time.Time `json:"completedAt"`
	// Response lists the results so far; it is left out of job lists.
	Response *JobResults `json:"response,omitempty"`
}

// JobResults holds the results of a job's processed items, in index order.
type JobResults struct {
	Successful []json.RawMessage `json:"successful" doc:"{index, customerId, message} plus the operation's result."`
	Failed     []json.RawMessage `json:"failed" doc:"{index, customerId, error, message, code, type}."`
}

// JobItem is one item of a job with its status and, once processed, its result.
type JobItem struct {
	Index   int             `json:"index"`
	Status  string          `json:"status" enum:"pending,succeeded,failed,stopped"`
	Request json.RawMessage `json:"request" doc:"The item as submitted."`
	Result  json.RawMessage `json:"result,omitempty" doc:"As in the job's response; absent while pending and when stopped."`
}

// JobItemsPage is a page of a job's items.
type JobItemsPage struct {
	Items      []JobItem `json:"items"`
	HasMore    bool      `json:"hasMore"`
	NextCursor string    `json:"nextCursor,omitempty"`
}

// JobsPage is a page of a tenant's jobs, newest first.
type JobsPage struct {
	Jobs       []Job  `json:"jobs"`
	HasMore    bool   `json:"hasMore"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Page asks for at most Limit rows after the cursor StartAfter ("" for the first page).
type Page struct {
	Limit      int
	StartAfter string
}

var (
	jobStatuses  = []string{store.BatchQueued, store.BatchRunning, store.BatchCompleted, store.BatchFailed, store.BatchStopped}
	itemStatuses = []string{store.ItemPending, store.ItemSucceeded, store.ItemFailed, store.ItemStopped}
)

func jobNotFound(jobID string) error {
	return loyalty.Errorf(loyalty.CodeNotFound, "batch job %s not found", jobID)
}

// ParseJobID reads a job id from a URL; a malformed one names no job.
func ParseJobID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, jobNotFound(strconv.Quote(s))
	}
	return id, nil
}

func (s *Service) view(j store.BatchJob) Job {
	return Job{JobID: j.ID, Type: j.Type, Operation: s.types[j.Type].Operation, Status: j.Status,
		TotalCount: j.TotalCount, FinishedCount: j.FinishedCount, ErrorCount: j.ErrorCount,
		ProcessedCount: j.ProcessedCount(), StoppedCount: j.StoppedCount,
		CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, CompletedAt: j.CompletedAt}
}

// getJob reads the tenant's job; another tenant's job is not found, like a missing one.
func getJob(ctx context.Context, tx *store.Tx, tenantID, jobID int64) (store.BatchJob, error) {
	j, err := tx.GetBatchJob(ctx, tenantID, jobID)
	if errors.Is(err, store.ErrNotFound) {
		return j, jobNotFound(strconv.FormatInt(jobID, 10))
	}
	return j, err
}

// Get returns the tenant's job with the results of its processed items, read in one snapshot so
// that the counts and the lists agree.
func (s *Service) Get(ctx context.Context, tenantID, jobID int64) (Job, error) {
	var job Job
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		j, err := getJob(ctx, tx, tenantID, jobID)
		if err != nil {
			return err
		}
		items, err := tx.BatchResults(ctx, j.ID, -1, j.TotalCount)
		if err != nil {
			return err
		}
		job = s.view(j)
		job.Response = &JobResults{Successful: []json.RawMessage{}, Failed: []json.RawMessage{}}
		for _, it := range items {
			if it.Status == store.ItemSucceeded {
				job.Response.Successful = append(job.Response.Successful, it.Result)
			} else {
				job.Response.Failed = append(job.Response.Failed, it.Result)
			}
		}
		return nil
	})
	return job, err
}

// Items returns a page of the tenant's job's items in index order, all of them or those with status.
func (s *Service) Items(ctx context.Context, tenantID, jobID int64, status string, p Page) (JobItemsPage, error) {
	if status != "" && !slices.Contains(itemStatuses, status) {
		return JobItemsPage{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "status", "must be one of %v", itemStatuses)
	}
	after := -1
	if p.StartAfter != "" {
		n, err := strconv.Atoi(p.StartAfter)
		if err != nil || n < 0 {
			return JobItemsPage{}, badCursor()
		}
		after = n
	}
	page := JobItemsPage{Items: []JobItem{}}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		j, err := getJob(ctx, tx, tenantID, jobID)
		if err != nil {
			return err
		}
		items, err := jobItems(ctx, tx, j, after, p.Limit+1, status)
		if err != nil || len(items) == 0 {
			return err
		}
		if len(items) > p.Limit {
			items = items[:p.Limit]
			page.HasMore = true
			page.NextCursor = strconv.Itoa(items[len(items)-1].Index)
		}
		requests, err := tx.BatchRequests(ctx, j.ID)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Index >= len(requests) {
				return fmt.Errorf("batch: job %d has %d stored items, not item %d", j.ID, len(requests), it.Index)
			}
			page.Items = append(page.Items, JobItem{Index: it.Index, Status: it.Status, Request: requests[it.Index], Result: it.Result})
		}
		return nil
	})
	return page, err
}

// unprocessedStatus is the status of the job's items that have no result: pending until the job
// ends, stopped when it was stopped. A job that ended otherwise has a result for every item.
func unprocessedStatus(j store.BatchJob) string {
	if j.Status == store.BatchStopped {
		return store.ItemStopped
	}
	return store.ItemPending
}

// jobItems returns up to limit of the job's items after index after, in index order, with status
// (any when ""), without their requests. The processed items are stored with their results; the
// others are those from the processed count on.
func jobItems(ctx context.Context, tx *store.Tx, j store.BatchJob, after, limit int, status string) ([]store.BatchItem, error) {
	var items []store.BatchItem
	if status == "" || status == store.ItemSucceeded || status == store.ItemFailed {
		var statuses []string
		if status != "" {
			statuses = []string{status}
		}
		var err error
		if items, err = tx.BatchResults(ctx, j.ID, after, limit, statuses...); err != nil {
			return nil, err
		}
	}
	if rest := unprocessedStatus(j); status == "" || status == rest {
		for i := j.ProcessedCount(); i < j.TotalCount && len(items) < limit; i++ {
			if i > after {
				items = append(items, store.BatchItem{Index: i, Status: rest})
			}
		}
	}
	return items, nil
}

// ListFilter selects a tenant's jobs.
type ListFilter struct {
	Status string // "" for any
	Type   string // "" for any
}

// List returns a page of the tenant's jobs, newest first, without their results.
func (s *Service) List(ctx context.Context, tenantID int64, f ListFilter, p Page) (JobsPage, error) {
	if f.Status != "" && !slices.Contains(jobStatuses, f.Status) {
		return JobsPage{}, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "status", "must be one of %v", jobStatuses)
	}
	var before int64
	if p.StartAfter != "" {
		n, err := strconv.ParseInt(p.StartAfter, 10, 64)
		if err != nil || n <= 0 {
			return JobsPage{}, badCursor()
		}
		before = n
	}
	page := JobsPage{Jobs: []Job{}}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		jobs, err := tx.ListBatchJobs(ctx, tenantID, store.BatchJobFilter{Status: f.Status, Type: f.Type,
			BeforeID: before, Limit: p.Limit + 1})
		if err != nil {
			return err
		}
		if len(jobs) > p.Limit {
			jobs = jobs[:p.Limit]
			page.HasMore = true
			page.NextCursor = strconv.FormatInt(jobs[len(jobs)-1].ID, 10)
		}
		for _, j := range jobs {
			page.Jobs = append(page.Jobs, s.view(j))
		}
		return nil
	})
	return page, err
}

func badCursor() error {
	return loyalty.FieldErrorf(loyalty.CodeInvalidValue, "startAfter", "is not a cursor this server made")
}

// StopJob stops the tenant's job: items already applied stay applied, the others are marked stopped
// and never applied, and the queue job is cancelled. The chunk being applied, if any, either
// commits before the stop (its items count as processed) or sees the job stopped and applies
// nothing. Stopping a job that has ended changes nothing. It returns the job as Get does.
func (s *Service) StopJob(ctx context.Context, tenantID, jobID int64) (Job, error) {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		j, err := getJob(ctx, tx, tenantID, jobID)
		if err != nil || j.Ended() {
			return err
		}
		now := s.now()
		j.Status, j.StoppedCount, j.CompletedAt = store.BatchStopped, j.TotalCount-j.ProcessedCount(), &now
		if err := tx.UpdateBatchJob(ctx, j); err != nil {
			return err
		}
		if j.RiverJobID == 0 {
			return nil
		}
		// The queue job is in this transaction's database: its cancellation commits with the stop.
		if _, err := s.queue.JobCancelTx(ctx, tx.SQL(), j.RiverJobID); err != nil && !errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("batch: cancel queue job of job %d: %w", j.ID, err)
		}
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	return s.Get(ctx, tenantID, jobID)
}
