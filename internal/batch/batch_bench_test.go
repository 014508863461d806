//go:build unix

package batch

import (
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/internal/bench/workload"
	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// benchSeeds is how many customers the chunk benchmarks seed; the items name them at random.
const benchSeeds = 10_000

// BenchmarkChunk applies one chunk (DefaultChunkSize items in one transaction, as a worker does) of each
// batch type the service has, on each database: the cost of the database work and the engine,
// without HTTP or the queue. items/s is what one worker reaches applying chunks back to back;
// cpu-us/item is the CPU time this process spent per item, which other work on the machine does
// not inflate as it does the wall time (on PostgreSQL the server's own CPU time is not in it).
func BenchmarkChunk(b *testing.B) {
	benchEachType(b, func(b *testing.B, bs benchService, t workload.Type, g *workload.Gen) {
		var cpu time.Duration
		for range b.N {
			b.StopTimer()
			id := bs.submit(b, t.Name, benchItems(g, t, DefaultChunkSize))
			b.StartTimer()
			cpuBefore := cpuTime(b)
			done, err := bs.s.runChunk(ctx, id)
			cpu += cpuTime(b) - cpuBefore
			if err != nil || !done {
				b.Fatalf("chunk of job %d: done %v, %v", id, done, err)
			}
		}
		b.ReportMetric(float64(b.N*DefaultChunkSize)/b.Elapsed().Seconds(), "items/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*DefaultChunkSize), "cpu-us/item")
	})
}

// BenchmarkJob applies one 1,000-item job of each type from its first chunk to its last, as a worker
// does once it has taken the job: the in-process part of the one batch that `tally bench` compares
// with single calls, without HTTP, the queue's pickup or polling.
func BenchmarkJob(b *testing.B) {
	benchEachType(b, func(b *testing.B, bs benchService, t workload.Type, g *workload.Gen) {
		for range b.N {
			b.StopTimer()
			id := bs.submit(b, t.Name, benchItems(g, t, MaxItems))
			b.StartTimer()
			for done := false; !done; {
				var err error
				if done, err = bs.s.runChunk(ctx, id); err != nil {
					b.Fatalf("job %d: %v", id, err)
				}
			}
		}
		b.ReportMetric(float64(b.N*MaxItems)/b.Elapsed().Seconds(), "items/s")
	})
}

// BenchmarkSubmit accepts a 1,000-item batch of each type on each database, as POST /batch/{type}
// does once the request is read: the envelope parsed, the job, its items and its queue job stored
// in one transaction. Each job is stopped afterwards, untimed, to stay under the queue limit.
func BenchmarkSubmit(b *testing.B) {
	benchEachType(b, func(b *testing.B, bs benchService, t workload.Type, g *workload.Gen) {
		body := workload.Envelope(benchItems(g, t, MaxItems))
		b.ResetTimer()
		for range b.N {
			c, err := bs.s.Submit(ctx, bs.tenant, t.Name, body, "")
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := bs.s.StopJob(ctx, bs.tenant, c.JobID); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
}

// benchEachType runs bench for each batch type the service has, on each database, with a
// generator of items of its own.
func benchEachType(b *testing.B, bench func(b *testing.B, bs benchService, t workload.Type, g *workload.Gen)) {
	for _, d := range storetest.Dialects {
		b.Run(d.String(), func(b *testing.B) {
			bs := newBenchService(b, d)
			for _, t := range workload.Types {
				if _, ok := bs.s.types[t.Name]; !ok {
					continue
				}
				g := bs.src.Gen(1)
				b.Run(t.Name, func(b *testing.B) { bench(b, bs, t, g) })
			}
		})
	}
}

// benchItems returns n items of type t.
func benchItems(g *workload.Gen, t workload.Type, n int) []workload.Item {
	items := make([]workload.Item, n)
	for i := range items {
		items[i] = g.Item(t)
	}
	return items
}

// BenchmarkParseBody reads the envelope of a 1,000-item batch of each type, as a submission does.
func BenchmarkParseBody(b *testing.B) {
	g := workload.NewSource("bench-", benchSeeds, time.Now()).Gen(1)
	for _, t := range workload.Types {
		body := workload.Envelope(benchItems(g, t, MaxItems))
		b.Run(t.Name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseBody(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuTime returns the CPU time this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchService is a Service without workers on a database with seeded, funded customers.
type benchService struct {
	s      *Service
	src    *workload.Source
	tenant int64
}

func newBenchService(b *testing.B, d store.Dialect) benchService {
	b.Helper()
	db := storetest.Open(b, d)
	s, err := New(ctx, Config{DB: db, Engine: engine.New(nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	bs := benchService{s: s, src: workload.NewSource("bench-", benchSeeds, time.Now())}
	err = db.Write(ctx, func(tx *store.Tx) error {
		tn, _, err := tx.CreateTenant(ctx, "bench", time.Now())
		bs.tenant = tn.ID
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	g := bs.src.Gen(0)
	bs.apply(b, workload.Customers, benchSeeds, g.SeedItem)
	if _, ok := s.types[workload.BalanceAdjustment]; ok {
		bs.apply(b, workload.BalanceAdjustment, benchSeeds, g.FundItem)
	}
	return bs
}

// apply submits item(0) to item(n-1) as batches of typ and runs them to the end.
func (bs benchService) apply(b *testing.B, typ string, n int, item func(i int) workload.Item) {
	b.Helper()
	for first := 0; first < n; first += MaxItems {
		items := make([]workload.Item, 0, MaxItems)
		for i := first; i < min(first+MaxItems, n); i++ {
			items = append(items, item(i))
		}
		id := bs.submit(b, typ, items)
		for {
			done, err := bs.s.runChunk(ctx, id)
			if err != nil {
				b.Fatalf("%s job %d: %v", typ, id, err)
			}
			if done {
				break
			}
		}
		j, err := bs.s.Get(ctx, bs.tenant, id)
		if err != nil || j.ErrorCount > 0 {
			b.Fatalf("%s job %d: %d items failed, %v", typ, id, j.ErrorCount, err)
		}
	}
}

func (bs benchService) submit(b *testing.B, typ string, items []workload.Item) int64 {
	b.Helper()
	c, err := bs.s.Submit(ctx, bs.tenant, typ, workload.Envelope(items), "")
	if err != nil {
		b.Fatal(fmt.Errorf("submit %s: %w", typ, err))
	}
	return c.JobID
}
