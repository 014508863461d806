package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tally-loyalty/tally/client"
)

// BatchSize is how many rows go into one batch: the API's limit.
const BatchSize = 1000

// Options configure an import.
type Options struct {
	Type    *Type
	Format  Format
	Mapping Mapping
	// Parallel is how many batches may be in flight at once; 0 means 2.
	Parallel int
	// Salt is mixed into every Idempotency-Key. Leave it empty so that running the same file again
	// applies nothing twice; give a new value to apply the same rows again on purpose.
	Salt string
	// Report opens the failure report's file. Import calls it at the first failed row, so an import
	// without failures writes no report.
	Report func() (io.WriteCloser, error)
	// Progress shows the import's advance; nil shows nothing.
	Progress Progress
	// Log receives remarks that do not stop the import, such as ignored columns; nil discards them.
	Log io.Writer
	// Poll is how often a running batch is checked; 0 means 200ms.
	Poll time.Duration
}

// Summary says what an import did.
type Summary struct {
	Rows    int // data rows read
	Applied int // rows the server applied, in this run or, for a re-run, in an earlier one
	Failed  int // rows in the failure report
	Batches int // batches the server accepted
}

// chunk is one batch's share of the file: BatchSize consecutive data rows, the unreadable ones
// included, so that a row always falls into the same chunk however many rows around it fail.
type chunk struct {
	index int
	rows  []Row
}

// chunkResult is what became of a chunk's rows: failures maps a row's position in the chunk to why
// it did not apply; accepted says whether the server took the chunk's batch (a chunk of unreadable
// rows sends none). err is a failure of the whole import, such as a lost connection.
type chunkResult struct {
	chunk
	failures map[int]Failure
	accepted bool
	err      error
}

// importer runs one import.
type importer struct {
	api  batchAPI
	opts Options
}

// run reads the source and sends its chunks, at most opts.Parallel at once, and writes their
// failures to the report in file order.
func (im *importer) run(ctx context.Context, src source) (Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Each chunk's result arrives on its own channel; the channels queue in file order. The queue's
	// capacity bounds the chunks in flight: one the loop below waits for, Parallel-1 queued.
	queue := make(chan chan chunkResult, im.opts.Parallel-1)
	go im.produce(ctx, src, queue)
	rep := &lazyReport{open: im.opts.Report, format: src.newReport}
	var sum Summary
	var err error
	for next := range queue {
		res := <-next
		if err != nil {
			continue // drain, so that every goroutine ends
		}
		if err = res.err; err == nil {
			err = im.record(&sum, res, rep)
		}
		if err != nil {
			cancel() // stop the chunks in flight
		}
	}
	return sum, errors.Join(err, rep.close())
}

// record counts a chunk's rows and writes its failures to the report.
func (im *importer) record(sum *Summary, res chunkResult, rep *lazyReport) error {
	sum.Rows += len(res.rows)
	sum.Failed += len(res.failures)
	sum.Applied += len(res.rows) - len(res.failures)
	if res.accepted {
		sum.Batches++
	}
	for i, row := range res.rows {
		if f, failed := res.failures[i]; failed {
			if err := rep.add(row, f); err != nil {
				return err
			}
		}
	}
	if im.opts.Progress != nil {
		im.opts.Progress.Add(len(res.rows), len(res.failures))
	}
	return nil
}

// produce reads the source into chunks and starts a goroutine for each, queueing its result
// channel in file order; it closes the queue after the last chunk, or after a result that says why
// it stopped early.
func (im *importer) produce(ctx context.Context, src source, queue chan<- chan chunkResult) {
	defer close(queue)
	for index := 0; ; index++ {
		c := chunk{index: index}
		var readErr error
		for len(c.rows) < BatchSize {
			row, err := src.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				readErr = err
				break
			}
			c.rows = append(c.rows, row)
		}
		if len(c.rows) == 0 && readErr == nil {
			return
		}
		result := make(chan chunkResult, 1)
		select {
		case queue <- result:
		case <-ctx.Done():
			// Say why the rest of the file was not sent; run drains the queue to its end.
			result <- chunkResult{err: ctx.Err()}
			queue <- result
			return
		}
		if readErr != nil {
			result <- chunkResult{err: readErr}
			return
		}
		go func() { result <- im.send(ctx, c) }()
		if len(c.rows) < BatchSize {
			return
		}
	}
}

// send submits a chunk's readable rows as one batch, waits for it and collects the failures.
func (im *importer) send(ctx context.Context, c chunk) chunkResult {
	res := chunkResult{chunk: c, failures: map[int]Failure{}}
	var items []json.RawMessage
	var positions []int // of each item's row in the chunk
	for i, row := range c.rows {
		if row.Err != nil {
			res.failures[i] = *row.Err
			continue
		}
		items = append(items, row.Item)
		positions = append(positions, i)
	}
	if len(items) == 0 {
		return res
	}
	lines := fmt.Sprintf("lines %d to %d", c.rows[0].Line, c.rows[len(c.rows)-1].Line)
	batchType := im.opts.Type.BatchType
	jobID, err := im.api.submit(ctx, batchType, items, idempotencyKey(im.opts.Salt, batchType, c.index, items))
	if f, rejected := rejection(err); rejected {
		for _, p := range positions {
			res.failures[p] = f
		}
		return res
	}
	if err != nil {
		res.err = fmt.Errorf("send the batch of %s: %w", lines, err)
		return res
	}
	res.accepted = true
	failed, err := im.api.failures(ctx, jobID)
	if err != nil {
		res.err = fmt.Errorf("batch %d (%s): %w", jobID, lines, err)
		return res
	}
	for index, f := range failed {
		if index < 0 || index >= len(positions) {
			res.err = fmt.Errorf("batch %d (%s) reports item %d of %d", jobID, lines, index, len(positions))
			return res
		}
		res.failures[positions[index]] = f
	}
	return res
}

// idempotencyKey derives a batch's Idempotency-Key from what the batch holds: its type, its place in
// the file and its items, byte for byte. Running the same file again sends the same keys with the
// same bodies, and the server answers each with the job it already ran instead of applying the rows
// again; rows appended to the file land in new chunks with new keys.
func idempotencyKey(salt, batchType string, chunk int, items []json.RawMessage) string {
	h := sha256.New()
	fmt.Fprintf(h, "tally import v1\x00%s\x00%s\x00%d\x00", salt, batchType, chunk)
	for _, item := range items {
		h.Write(item)
		h.Write([]byte{'\n'}) // compact JSON holds no raw newline, so items cannot run together
	}
	return "import-" + hex.EncodeToString(h.Sum(nil))
}

// Import reads the rows of in and applies them through the batch API of the server c talks to. An
// error means the import stopped early (the context ended, the server refused the keys or could not
// be reached): run it again with the same file, and the rows already applied are not applied twice.
func Import(ctx context.Context, c *client.Client, in io.Reader, opts Options) (Summary, error) {
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
	}
	return importWith(ctx, clientAPI{c: c, poll: opts.Poll}, in, opts)
}

func importWith(ctx context.Context, api batchAPI, in io.Reader, opts Options) (Summary, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 2
	}
	src, err := newSource(in, opts.Format, opts.Type, opts.Mapping)
	if err != nil {
		return Summary{}, err
	}
	if opts.Log != nil {
		for _, w := range src.warnings() {
			fmt.Fprintln(opts.Log, w)
		}
	}
	im := &importer{api: api, opts: opts}
	sum, err := im.run(ctx, src)
	if opts.Progress != nil {
		opts.Progress.Finish()
	}
	return sum, err
}

// String says what the import did in one line.
func (s Summary) String() string {
	return fmt.Sprintf("%d rows read, %d applied, %d failed (%d batches)", s.Rows, s.Applied, s.Failed, s.Batches)
}
