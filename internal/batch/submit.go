package batch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// JobCreated is the answer to a submission: the reference API's jobId plus Tally's additions.
type JobCreated struct {
	JobID      int64  `json:"jobId"`
	Status     string `json:"status" enum:"queued,running,completed,failed,stopped"`
	TotalCount int    `json:"totalCount"`
	// Link is the job's status URL path; the HTTP layer, which knows the base path, sets it.
	Link string `json:"link"`
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// ParseBody reads a batch request, {"body": [item, ...]}, and returns its items as compact JSON.
// An envelope it rejects is the caller's whole request: 3016 when it is not JSON in UTF-8, 3000
// when it has no body array or an empty one, 3011 past MaxItems. Items are not looked into here:
// each is decoded when it is applied, exactly like the single endpoint's body, and fails alone.
func ParseBody(data []byte) ([]json.RawMessage, error) {
	if !json.Valid(data) {
		return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "the request body is not valid JSON")
	}
	// JSON is UTF-8 text, and the items are stored as text: PostgreSQL refuses other bytes.
	if !utf8.Valid(data) {
		return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "the request body is not valid UTF-8")
	}
	var env struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, loyalty.Errorf(loyalty.CodeMissingArguments, `the request body must be an object {"body": [...]}`)
	}
	if len(env.Body) == 0 || bytes.Equal(env.Body, []byte("null")) {
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "is required")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(env.Body, &items); err != nil {
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "must be an array of items")
	}
	if len(items) == 0 {
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "must hold at least one item")
	}
	if len(items) > MaxItems {
		return nil, loyalty.FieldErrorf(loyalty.CodeLimitExceeded, "body", "must hold at most %d items, not %d", MaxItems, len(items))
	}
	for i, item := range items {
		var buf bytes.Buffer
		if err := json.Compact(&buf, item); err != nil {
			return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "body[%d] is not valid JSON", i)
		}
		items[i] = buf.Bytes()
	}
	return items, nil
}

// bodyHash identifies what was submitted, for the idempotency check: the type and the items.
func bodyHash(typeName string, items []json.RawMessage) string {
	h := sha256.New()
	h.Write([]byte(typeName))
	for _, item := range items {
		h.Write([]byte{0})
		h.Write(item)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func checkIdempotencyKey(key string) error {
	if len(key) > maxIdempotencyKey {
		return loyalty.FieldErrorf(loyalty.CodeInvalidValue, "Idempotency-Key", "must be at most %d characters", maxIdempotencyKey)
	}
	for _, c := range []byte(key) {
		if c < 0x21 || c > 0x7e {
			return loyalty.FieldErrorf(loyalty.CodeInvalidValue, "Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	return nil
}

// Submit accepts a batch of the named type from the request body data. The job, its items and its
// queue job are written in one transaction: once a jobId is returned the batch will be processed,
// whatever fails next. With an idempotency key already used for the same type and items it returns
// the first job and stores nothing; with the key of another submission it fails with 422 (code 3003).
func (s *Service) Submit(ctx context.Context, tenantID int64, typeName string, data []byte, idempotencyKey string) (JobCreated, error) {
	if _, ok := s.types[typeName]; !ok {
		return JobCreated{}, loyalty.Errorf(loyalty.CodeNotFound, "there is no batch type %q", typeName)
	}
	items, err := ParseBody(data)
	if err != nil {
		return JobCreated{}, err
	}
	if err := checkIdempotencyKey(idempotencyKey); err != nil {
		return JobCreated{}, err
	}
	hash := bodyHash(typeName, items)
	var created JobCreated
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.LockTenantBatches(ctx, tenantID); err != nil {
			return err
		}
		if idempotencyKey != "" {
			j, err := tx.BatchJobByIdempotencyKey(ctx, tenantID, idempotencyKey)
			switch {
			case err == nil && j.BodyHash != hash:
				return loyalty.FieldErrorf(loyalty.CodeInvalidValue, "Idempotency-Key",
					"was already used for job %d with a different body; use a new key for a new batch", j.ID)
			case err == nil:
				created = JobCreated{JobID: j.ID, Status: j.Status, TotalCount: j.TotalCount}
				return nil
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		unfinished, err := tx.CountUnfinishedBatchJobs(ctx, tenantID)
		if err != nil {
			return err
		}
		if unfinished >= s.cfg.QueueLimit {
			return loyalty.Errorf(loyalty.CodeTooManyRequests,
				"%d batch jobs of this program are queued or running, the most allowed; retry when one has finished", unfinished)
		}
		id, err := tx.InsertBatchJob(ctx, store.BatchJob{TenantID: tenantID, Type: typeName,
			IdempotencyKey: idempotencyKey, BodyHash: hash, CreatedAt: s.now()}, items)
		if err != nil {
			return err
		}
		res, err := s.queue.InsertTx(ctx, tx.SQL(), jobArgs{BatchID: id}, nil)
		if err != nil {
			return fmt.Errorf("batch: enqueue job %d: %w", id, err)
		}
		if err := tx.SetBatchRiverJob(ctx, id, res.Job.ID); err != nil {
			return err
		}
		created = JobCreated{JobID: id, Status: store.BatchQueued, TotalCount: len(items)}
		return nil
	})
	return created, err
}
