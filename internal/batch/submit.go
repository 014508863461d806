package batch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

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
//
// It reads the request once, and answers as json.Valid, utf8.Valid and json.Unmarshal into the
// envelope would, in that order: body matches its key regardless of case, other keys are ignored,
// and of repeated body keys the last counts.
func ParseBody(data []byte) ([]json.RawMessage, error) {
	s := scanner{data: data, out: make([]byte, 0, len(data))}
	var (
		body  byte // the first byte of the last body member's value, 0 without one
		items []json.RawMessage
	)
	s.space()
	top := s.peek()
	var ok bool
	if top == '{' {
		ok = s.object(func(key []byte, escaped bool) bool {
			if !isBodyKey(key, escaped) {
				return s.value()
			}
			body, items = s.peek(), items[:0]
			if body != '[' {
				return s.value()
			}
			return s.array(func() bool {
				item, ok := s.compactValue()
				items = append(items, item)
				return ok
			})
		})
	} else {
		ok = s.value()
	}
	s.space()
	switch {
	case !ok || s.pos != len(data):
		return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "the request body is not valid JSON")
	case s.badUTF8:
		// JSON is UTF-8 text, and the items are stored as text: PostgreSQL refuses other bytes.
		return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "the request body is not valid UTF-8")
	case top == 'n', top == '{' && (body == 0 || body == 'n'):
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "is required")
	case top != '{':
		return nil, loyalty.Errorf(loyalty.CodeMissingArguments, `the request body must be an object {"body": [...]}`)
	case body != '[':
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "must be an array of items")
	case len(items) == 0:
		return nil, loyalty.FieldErrorf(loyalty.CodeMissingArguments, "body", "must hold at least one item")
	case len(items) > MaxItems:
		return nil, loyalty.FieldErrorf(loyalty.CodeLimitExceeded, "body", "must hold at most %d items, not %d", MaxItems, len(items))
	}
	return items, nil
}

// isBodyKey reports whether an object key, as written, names the envelope's body: json.Unmarshal
// matches a field's name regardless of case, and only ASCII letters fold to those of "body".
func isBodyKey(key []byte, escaped bool) bool {
	return bytes.EqualFold(keyName(key, escaped), []byte("body"))
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
// Two submissions with one key at the same moment store one job: the second waits for the first and
// answers with its job. Submissions of one tenant do not wait for each other otherwise, so the queue
// limit counts the jobs already stored: submissions that arrive together may pass it by their number.
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
