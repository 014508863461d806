package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tally-loyalty/tally/client"
	"github.com/tally-loyalty/tally/internal/bench/workload"
)

// batches hands a submitter the items of its next batch; false means the load is over.
type batches func(g *workload.Gen) ([]workload.Item, bool)

// timed makes batches of t until the deadline.
func (r *runner) timed(t workload.Type, deadline time.Time) batches {
	return func(g *workload.Gen) ([]workload.Item, bool) {
		if time.Now().After(deadline) {
			return nil, false
		}
		items := make([]workload.Item, r.cfg.BatchSize)
		for i := range items {
			items[i] = g.Item(t)
		}
		return items, true
	}
}

// numbered makes batches of size items of item(0) to item(n-1), each made once whichever
// submitter takes it.
func numbered(n, size int, item func(g *workload.Gen, i int) workload.Item) batches {
	var next atomic.Int64
	return func(g *workload.Gen) ([]workload.Item, bool) {
		first := int(next.Add(1)-1) * size
		if first >= n {
			return nil, false
		}
		items := make([]workload.Item, 0, size)
		for i := first; i < min(first+size, n); i++ {
			items = append(items, item(g, i))
		}
		return items, true
	}
}

// load runs submitters that submit the batches next makes, each keeping up to InFlight of them
// accepted and not yet ended, and waits until every accepted batch has ended. Its time runs from
// its start to the moment the last batch was seen ended.
func (r *runner) load(ctx context.Context, typ string, submitters int, poll time.Duration,
	next batches) (Throughput, error) {
	cpuBefore, err := r.srv.cpuTime()
	if err != nil {
		return Throughput{}, err
	}
	g, ctx := errgroup.WithContext(ctx)
	tr := &tracker{c: r.c, typ: typ, page: min(2*submitters*r.cfg.InFlight, maxPage),
		waiting: map[int64]chan client.Batch{}}
	trCtx, stopTracker := context.WithCancel(ctx)
	g.Go(func() error { return tr.run(trCtx, poll) })
	rec := &recorder{start: time.Now()}
	var subs sync.WaitGroup
	for range submitters {
		subs.Add(1)
		gen := r.gen()
		g.Go(func() error {
			defer subs.Done()
			return r.submitter(ctx, typ, gen, next, tr, rec)
		})
	}
	g.Go(func() error {
		subs.Wait()
		stopTracker()
		return nil
	})
	if err := g.Wait(); err != nil {
		return Throughput{}, err
	}
	cpuAfter, err := r.srv.cpuTime()
	if err != nil {
		return Throughput{}, err
	}
	t := rec.throughput()
	t.ServerCPUSeconds = (cpuAfter - cpuBefore).Seconds()
	if t.Items > 0 {
		t.ServerCPUMicrosPerItem = float64((cpuAfter - cpuBefore).Microseconds()) / float64(t.Items)
	}
	return t, nil
}

// submitter submits batches until next has none left, then waits for its batches to end.
func (r *runner) submitter(ctx context.Context, typ string, g *workload.Gen, next batches, tr *tracker,
	rec *recorder) error {
	slots := make(chan struct{}, r.cfg.InFlight)
	var pending sync.WaitGroup
	defer pending.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		items, ok := next(g)
		if !ok {
			return nil
		}
		id, err := r.submit(ctx, typ, workload.Envelope(items), rec)
		if err != nil {
			return err
		}
		ended := tr.watch(id)
		pending.Add(1)
		go func() {
			defer pending.Done()
			select {
			case b := <-ended:
				rec.ended(b)
			case <-ctx.Done():
			}
			<-slots
		}()
	}
}

// submit submits one batch and records how long accepting it took. A submission refused because
// the tenant's queue is full is retried when the server says.
func (r *runner) submit(ctx context.Context, typ string, body []byte, rec *recorder) (int64, error) {
	for {
		var created client.BatchCreated
		start := time.Now()
		err := r.c.Send(ctx, client.Request{Method: http.MethodPost, Path: "/batch/" + typ, Body: body}, &created)
		took := time.Since(start)
		var apiErr *client.Error
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests {
			rec.rejected()
			if err := sleep(ctx, max(apiErr.RetryAfter, 100*time.Millisecond)); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("submit a %s batch: %w", typ, err)
		}
		rec.accepted(took)
		return created.JobID, nil
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxPage is the most jobs the server lists in one page.
const maxPage = 200

// tracker watches the jobs of one type: every poll it reads a page of the newest jobs of the type,
// without their results, and tells the watchers of the jobs that have ended. The page holds twice
// as many jobs as may be in flight; a watched job that newer ones have pushed out of it is read
// alone.
type tracker struct {
	c    *client.Client
	typ  string
	page int

	mu      sync.Mutex
	waiting map[int64]chan client.Batch
}

// watch returns a channel that receives the job once it has ended.
func (t *tracker) watch(id int64) <-chan client.Batch {
	ch := make(chan client.Batch, 1)
	t.mu.Lock()
	t.waiting[id] = ch
	t.mu.Unlock()
	return ch
}

// ended tells the job's watcher, if it has one, that it has ended.
func (t *tracker) ended(j client.Batch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ch, ok := t.waiting[j.JobID]; ok {
		ch <- j
		delete(t.waiting, j.JobID)
	}
}

// watched returns the ids of the jobs watched now.
func (t *tracker) watched() []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]int64, 0, len(t.waiting))
	for id := range t.waiting {
		ids = append(ids, id)
	}
	return ids
}

// run polls until ctx is done.
func (t *tracker) run(ctx context.Context, poll time.Duration) error {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := t.poll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read the %s jobs: %w", t.typ, err)
		}
	}
}

func (t *tracker) poll(ctx context.Context) error {
	ids := t.watched()
	if len(ids) == 0 {
		return nil
	}
	page, err := t.c.ListBatches(ctx, "", t.typ, t.page, "")
	if err != nil {
		return err
	}
	listed := map[int64]bool{}
	for _, j := range page.Jobs {
		listed[j.JobID] = true
		if j.Ended() {
			t.ended(j)
		}
	}
	for _, id := range ids {
		if listed[id] {
			continue
		}
		j, err := t.c.GetBatch(ctx, id)
		if err != nil {
			return err
		}
		if j.Ended() {
			t.ended(j)
		}
	}
	return nil
}

// recorder collects what a load measures.
type recorder struct {
	start time.Time

	mu         sync.Mutex
	end        time.Time
	res        Throughput
	accept     []time.Duration
	queueWait  []time.Duration
	processing []time.Duration
}

func (r *recorder) accepted(took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accept = append(r.accept, took)
}

func (r *recorder) rejected() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Rejected++
}

func (r *recorder) ended(b client.Batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.end = time.Now()
	r.res.Batches++
	r.res.Items += b.TotalCount
	r.res.Failed += b.ErrorCount
	r.res.Stopped += b.StoppedCount
	if b.StartedAt != nil && b.CompletedAt != nil {
		r.queueWait = append(r.queueWait, b.StartedAt.Sub(b.CreatedAt))
		r.processing = append(r.processing, b.CompletedAt.Sub(*b.StartedAt))
	}
}

func (r *recorder) throughput() Throughput {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.res
	if !r.end.IsZero() {
		t.Seconds = r.end.Sub(r.start).Seconds()
		t.ItemsPerSecond = float64(t.Items) / t.Seconds
	}
	t.AcceptP50Ms = ms(percentile(r.accept, 50))
	t.AcceptP99Ms = ms(percentile(r.accept, 99))
	t.AcceptMaxMs = ms(percentile(r.accept, 100))
	t.QueueWaitMeanMs = ms(mean(r.queueWait))
	t.ProcessingMeanMs = ms(mean(r.processing))
	return t
}

// speedup times the same number of items of t as sequential single calls, and as one batch from
// submission until it has ended (the median of speedupRuns batches).
func (r *runner) speedup(ctx context.Context, t workload.Type) (Speedup, error) {
	sp := Speedup{Items: r.cfg.Singles}
	g := r.gen()
	items := make([]workload.Item, r.cfg.Singles)
	for i := range items {
		items[i] = g.Item(t)
	}
	took := make([]time.Duration, len(items))
	start := time.Now()
	for i, it := range items {
		method, path, body := t.Single(it)
		callStart := time.Now()
		if err := r.c.Send(ctx, client.Request{Method: method, Path: path, Body: body}, nil); err != nil {
			return sp, fmt.Errorf("single call %s %s: %w", method, path, err)
		}
		took[i] = time.Since(callStart)
	}
	sp.SinglesSeconds = time.Since(start).Seconds()
	sp.SingleP50Ms = ms(percentile(took, 50))
	for range speedupRuns {
		res, err := r.load(ctx, t.Name, 1, batchPoll, numbered(r.cfg.Singles, r.cfg.Singles,
			func(g *workload.Gen, _ int) workload.Item { return g.Item(t) }))
		if err != nil {
			return sp, err
		}
		sp.BatchSeconds = append(sp.BatchSeconds, res.Seconds)
		sp.BatchQueueWaitMs = append(sp.BatchQueueWaitMs, res.QueueWaitMeanMs)
	}
	sp.Speedup = sp.SinglesSeconds / median(sp.BatchSeconds)
	return sp, nil
}

// percentile returns the nearest-rank p-th percentile of ds, 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(rank, 0)]
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
