package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// jobArgs is the queue job of one batch job: one queue job per batch, never one per item.
type jobArgs struct {
	BatchID int64 `json:"batchId"`
}

// Kind names the queue job's kind in River's tables.
func (jobArgs) Kind() string { return "tally_batch" }

// worker processes batch jobs for River.
type worker struct {
	river.WorkerDefaults[jobArgs]
	s *Service
}

// Work processes the batch for one slice of time. An error rolls back the chunk in progress and
// River retries the job later; on the last attempt the batch's remaining items are failed instead,
// so that every item still ends in a terminal state.
func (w *worker) Work(ctx context.Context, job *river.Job[jobArgs]) error {
	err := w.s.process(ctx, job.Args.BatchID)
	var snooze *river.JobSnoozeError
	if err == nil || errors.As(err, &snooze) || job.Attempt < job.MaxAttempts {
		return err
	}
	cause := loyalty.Errorf(loyalty.CodeInternal, "the batch job could not be processed (%d attempts)", job.Attempt)
	if failErr := w.s.failRemaining(context.WithoutCancel(ctx), job.Args.BatchID, cause); failErr != nil {
		return errors.Join(err, failErr)
	}
	return err
}

// process applies the batch's pending items chunk by chunk until it ends, the slice is used up,
// the service stops or another job holds the chunk's customers too long; then the queue job is
// snoozed, to resume where it stopped as soon as a worker takes it again.
func (s *Service) process(ctx context.Context, jobID int64) error {
	start := time.Now()
	for {
		done, err := s.runChunk(ctx, jobID)
		if errors.Is(err, store.ErrLockTimeout) {
			return river.JobSnooze(0)
		}
		if err != nil || done {
			return err
		}
		select {
		case <-s.stopping:
			return river.JobSnooze(0)
		default:
		}
		if time.Since(start) >= sliceTime {
			return river.JobSnooze(0)
		}
	}
}

// errNeedsSteps reports that an item of a chunk failed after writing to the transaction's unit, so
// that the chunk must be applied again with each item in a savepoint of its own.
var errNeedsSteps = errors.New("batch: an item failed after writing")

// runChunk applies the next chunk of the job in one transaction: the items' effects, their results
// and the job's counters commit together or not at all. It reports whether the job has ended.
//
// Items are applied back to back, their rows sent together when the chunk ends (store's unit of
// work); an item the engine refuses has almost always written nothing yet and fails alone. In the
// rare case it had written something, the chunk starts again with each item in its own savepoint,
// which undoes a failed item's rows alone at the cost of a few statements per item.
func (s *Service) runChunk(ctx context.Context, jobID int64) (bool, error) {
	done, err := s.applyChunk(ctx, jobID, false)
	if errors.Is(err, errNeedsSteps) {
		done, err = s.applyChunk(ctx, jobID, true)
	}
	if err != nil {
		return false, fmt.Errorf("batch: job %d: %w", jobID, err)
	}
	return done, nil
}

// applyChunk is runChunk's transaction, with each item in a savepoint when inSteps is set.
func (s *Service) applyChunk(ctx context.Context, jobID int64, inSteps bool) (bool, error) {
	done := false
	err := s.db.WriteBackground(ctx, func(tx *store.Tx) error {
		done = false
		j, err := tx.LockBatchJob(ctx, jobID)
		if err != nil {
			return err
		}
		if j.Ended() {
			done = true
			return nil
		}
		typ, ok := s.types[j.Type]
		if !ok {
			return fmt.Errorf("batch: job %d has type %q, which this server does not process", j.ID, j.Type)
		}
		now := s.now()
		if j.Status == store.BatchQueued {
			j.Status, j.StartedAt = store.BatchRunning, &now
		}
		items, err := pendingItems(ctx, tx, j, s.cfg.ChunkSize)
		if err != nil {
			return err
		}
		keys := make([]itemKeys, len(items))
		ids := make([]string, len(items))
		customers := make([]string, len(items))
		for i, it := range items {
			keys[i], ids[i] = keysOf(it.Request)
			customers[i] = keys[i].CustomerID
		}
		// Every customer of the chunk at once: the locks go in one order, whatever the items'.
		if err := tx.LockCustomerKeys(ctx, j.TenantID, customers); err != nil {
			return err
		}
		points, err := typ.pointsRead(ctx, tx, j.TenantID)
		if err != nil {
			return err
		}
		var steps *store.Savepoints
		if inSteps {
			steps = tx.Savepoints()
		}
		start := time.Now()
		for i := range items {
			if i%prefetchGroup == 0 {
				if err := prefetch(ctx, tx, j.TenantID, keys[i:min(i+prefetchGroup, len(keys))], points); err != nil {
					return err
				}
			}
			if err := s.applyItem(ctx, steps, tx, typ, j.TenantID, &items[i], ids[i]); err != nil {
				return err
			}
			if items[i].Status == store.ItemSucceeded {
				j.FinishedCount++
			} else {
				j.ErrorCount++
			}
			if i+1 < len(items) && time.Since(start) >= minChunkTime && tx.WritersWaiting() {
				// Items are applied in index order: the next chunk starts where this one ends.
				items = items[:i+1]
				break
			}
		}
		if err := tx.InsertBatchResults(ctx, j.ID, items); err != nil {
			return err
		}
		if j.ProcessedCount() == j.TotalCount {
			j.Status, j.CompletedAt = finalStatus(j), &now
			done = true
		}
		return tx.UpdateBatchJob(ctx, j)
	})
	return done, err
}

// prefetch reads ahead what the items' operations will read, their customers' points when points
// is set. The store ignores empty and repeated keys. An order's orderId is also its reward
// transaction's transactionId.
func prefetch(ctx context.Context, tx *store.Tx, tenantID int64, keys []itemKeys, points bool) error {
	k := store.PrefetchKeys{Points: points}
	for _, key := range keys {
		k.CustomerIDs = append(k.CustomerIDs, key.CustomerID)
		k.TransactionIDs = append(k.TransactionIDs, key.TransactionID, key.OrderID)
		k.OrderIDs = append(k.OrderIDs, key.OrderID)
	}
	return tx.Prefetch(ctx, tenantID, k)
}

// finalStatus is the status of a job whose every item has a result: failed when none succeeded.
func finalStatus(j store.BatchJob) string {
	if j.FinishedCount == 0 {
		return store.BatchFailed
	}
	return store.BatchCompleted
}

// applyItem applies one item, in a savepoint of its own when steps is given, and sets its status
// and result. An item the engine refuses (a *loyalty.Error) fails alone and leaves no trace; without
// steps, one that wrote before it was refused is errNeedsSteps. Any other error aborts the chunk.
func (s *Service) applyItem(ctx context.Context, steps *store.Savepoints, tx *store.Tx, typ Type, tenantID int64,
	it *store.BatchItem, id string) error {
	var res any
	apply := func() error {
		var err error
		res, err = typ.apply(ctx, tx, tenantID, it.Request)
		return err
	}
	var err error
	if steps != nil {
		err = steps.Run(ctx, apply)
	} else {
		before := tx.Changes()
		err = apply()
		if _, refused := loyalty.AsError(err); refused && tx.Changes() != before {
			return errNeedsSteps
		}
	}
	if e, ok := loyalty.AsError(err); ok {
		it.Status, it.Result = store.ItemFailed, failedResult(it.Index, id, e)
		return nil
	}
	if err != nil {
		return fmt.Errorf("item %d: %w", it.Index, err)
	}
	it.Status = store.ItemSucceeded
	it.Result, err = successResult(it.Index, id, typ.Message, res)
	return err
}

// failRemaining ends a job that cannot be processed: its pending items fail with cause.
func (s *Service) failRemaining(ctx context.Context, jobID int64, cause *loyalty.Error) error {
	err := s.db.WriteBackground(ctx, func(tx *store.Tx) error {
		j, err := tx.LockBatchJob(ctx, jobID)
		if err != nil || j.Ended() {
			return err
		}
		items, err := pendingItems(ctx, tx, j, j.TotalCount)
		if err != nil {
			return err
		}
		for i := range items {
			items[i].Status = store.ItemFailed
			_, id := keysOf(items[i].Request)
			items[i].Result = failedResult(items[i].Index, id, cause)
		}
		if err := tx.InsertBatchResults(ctx, j.ID, items); err != nil {
			return err
		}
		now := s.now()
		j.ErrorCount += len(items)
		j.Status, j.CompletedAt = finalStatus(j), &now
		if j.StartedAt == nil {
			j.StartedAt = &now
		}
		return tx.UpdateBatchJob(ctx, j)
	})
	if err != nil {
		return fmt.Errorf("batch: fail the rest of job %d: %w", jobID, err)
	}
	return nil
}

// pendingItems returns up to limit of the job's items from its first unprocessed one on: items are
// processed in index order, so those are the ones without a result.
func pendingItems(ctx context.Context, tx *store.Tx, j store.BatchJob, limit int) ([]store.BatchItem, error) {
	requests, err := tx.BatchRequests(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	from := j.ProcessedCount()
	if len(requests) != j.TotalCount || from >= j.TotalCount {
		return nil, fmt.Errorf("batch: job %d has %d stored items, %d in all and %d processed", j.ID, len(requests), j.TotalCount, from)
	}
	items := make([]store.BatchItem, min(limit, j.TotalCount-from))
	for i := range items {
		items[i] = store.BatchItem{Index: from + i, Status: store.ItemPending, Request: requests[from+i]}
	}
	return items, nil
}

// itemKeys are the ids an item names, to read ahead of applying it; empty when absent, not
// strings, or not valid ids (the operation refuses those, and the database need never see them).
type itemKeys struct {
	CustomerID, TransactionID, OrderID string
}

// keysOf reads an item's keys, and its identity: what its result names it by, the item's
// customerId as sent, or the item itself when it is a string (an orderId in orders/transactions).
// It reads the item in one pass and matches field names as the operation's own decoding
// (encoding/json) does: regardless of case, escapes read, the last of repeated names counting, a
// value that is not a string counting as none. An item that is neither an object nor a string has
// no keys; it fails when it is applied, with the error the operation gives.
func keysOf(item json.RawMessage) (itemKeys, string) {
	s := scanner{data: item}
	s.space()
	var customer, transaction, order string
	ok := false
	isString := s.peek() == '"'
	switch {
	case isString:
		customer, ok = s.text()
	case s.peek() == '{':
		ok = s.object(func(key []byte, escaped bool) bool {
			var field *string
			switch name := keyName(key, escaped); {
			case bytes.EqualFold(name, []byte("customerId")):
				field = &customer
			case bytes.EqualFold(name, []byte("transactionId")):
				field = &transaction
			case bytes.EqualFold(name, []byte("orderId")):
				field = &order
			default:
				return s.value()
			}
			if s.peek() != '"' {
				*field = ""
				return s.value()
			}
			var ok bool
			*field, ok = s.text()
			return ok
		})
	}
	s.space()
	if !ok || s.pos != len(item) {
		return itemKeys{}, ""
	}
	if isString {
		return itemKeys{}, customer
	}
	valid := func(field, s string) string {
		if loyalty.CheckID(field, s) == nil {
			return s
		}
		return ""
	}
	k := itemKeys{CustomerID: valid("customerId", customer), TransactionID: valid("transactionId", transaction),
		OrderID: valid("orderId", order)}
	return k, customer
}

// successResult is a succeeded item as the job's response lists it: the operation's result with the
// item's index first, then the customerId and a message (unless the result has its own), then the
// result's other members sorted by name. A result that is not an object is the member "result".
func successResult(index int, id, message string, res any) ([]byte, error) {
	raw, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode result of item %d: %w", index, err)
	}
	members, ok := objectMembers(raw)
	if !ok {
		members = []member{{name: []byte("result"), key: []byte(`"result"`), value: raw}}
	}
	b := make([]byte, 0, len(raw)+len(id)+len(message)+48)
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"customerId":`...)
	b = append(b, memberValue(members, "customerId", id)...)
	b = append(b, `,"message":`...)
	b = append(b, memberValue(members, "message", message)...)
	for _, m := range members {
		switch string(m.name) {
		case "index", "customerId", "message":
			continue
		}
		b = append(b, ',')
		b = append(b, m.key...)
		b = append(b, ':')
		b = append(b, m.value...)
	}
	return append(b, '}'), nil
}

// memberValue is the value of the member with the name, or else the JSON string def.
func memberValue(members []member, name, def string) []byte {
	for _, m := range members {
		if string(m.name) == name {
			return m.value
		}
	}
	return mustJSON(def)
}

// failedItem is a failed item as the job's response lists it.
type failedItem struct {
	Index      int                  `json:"index"`
	CustomerID string               `json:"customerId"`
	Error      string               `json:"error"`
	Message    string               `json:"message"`
	Code       loyalty.Code         `json:"code"`
	Type       string               `json:"type"`
	Errors     []loyalty.FieldError `json:"errors,omitempty"`
}

func failedResult(index int, id string, e *loyalty.Error) []byte {
	e = e.WithFieldPrefix(fmt.Sprintf("body[%d].", index))
	return mustJSON(failedItem{Index: index, CustomerID: id, Error: e.Message, Message: e.Message,
		Code: e.Code, Type: e.Code.Type(), Errors: e.Fields})
}

// mustJSON encodes values that always encode: numbers, strings, and maps and structs of them.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("batch: encode %T: %v", v, err))
	}
	return b
}
