package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Report is every figure of a run; its JSON is what `tally bench --json` prints.
type Report struct {
	Machine  Machine  `json:"machine"`
	Server   string   `json:"server"`             // child, in-process or external
	Database string   `json:"database,omitempty"` // sqlite or postgres; empty for an external server
	Settings Settings `json:"settings"`
	// Seed is the creation of the seeded customers, a customers load of its own.
	Seed    *Throughput  `json:"seed"`
	Types   []TypeResult `json:"types"`
	Skipped []Skipped    `json:"skipped"`
	// PeakRSSBytes is the server's peak resident memory over the whole run; 0 when not measured.
	PeakRSSBytes int64 `json:"peakRssBytes"`
}

// Machine describes where the run took place.
type Machine struct {
	Cores       int    `json:"cores"`
	CPU         string `json:"cpu"`
	MemoryBytes int64  `json:"memoryBytes"`
	OS          string `json:"os"`
	Go          string `json:"go"`
	// LoadAverageStart and LoadAverageEnd are the one-minute load averages when the run began and
	// ended: other work on the machine slows the run down, and with it every figure.
	LoadAverageStart float64 `json:"loadAverageStart"`
	LoadAverageEnd   float64 `json:"loadAverageEnd"`
}

// Settings are the run's parameters.
type Settings struct {
	Submitters      int     `json:"submitters"`
	InFlight        int     `json:"inFlight"`
	BatchSize       int     `json:"batchSize"`
	DurationSeconds float64 `json:"durationSeconds"`
	Customers       int     `json:"customers"`
	Singles         int     `json:"singles"`
}

// Throughput is what one load of batches measured.
type Throughput struct {
	Batches int `json:"batches"`
	// Items reached a terminal state: Failed of them failed, Stopped were stopped.
	Items    int `json:"items"`
	Failed   int `json:"failed"`
	Stopped  int `json:"stopped"`
	Rejected int `json:"rejected"` // submissions refused because the tenant's queue was full
	// Seconds runs from the start of the load until the last batch was seen ended.
	Seconds        float64 `json:"seconds"`
	ItemsPerSecond float64 `json:"itemsPerSecond"`
	// Accepting a batch: from sending the submission to reading its answer.
	AcceptP50Ms float64 `json:"acceptP50Ms"`
	AcceptP99Ms float64 `json:"acceptP99Ms"`
	AcceptMaxMs float64 `json:"acceptMaxMs"`
	// By the server's clock, per batch: waiting in the queue (createdAt to startedAt) and being
	// processed (startedAt to completedAt).
	QueueWaitMeanMs  float64 `json:"queueWaitMeanMs"`
	ProcessingMeanMs float64 `json:"processingMeanMs"`
	// ServerCPUSeconds is the CPU time the server's process used meanwhile (0 when the server is
	// not ours; in process it includes the load generator's, and PostgreSQL's own processes are
	// never in it). Per item, it barely moves with other work on the machine, unlike the rates.
	ServerCPUSeconds       float64 `json:"serverCpuSeconds"`
	ServerCPUMicrosPerItem float64 `json:"serverCpuMicrosPerItem"`
}

// TypeResult is the figures of one batch type.
type TypeResult struct {
	Type       string     `json:"type"`
	Throughput Throughput `json:"throughput"`
	// Speedup compares single calls with one batch; SpeedupSkipped says why it is missing.
	Speedup        *Speedup `json:"speedup,omitempty"`
	SpeedupSkipped string   `json:"speedupSkipped,omitempty"`
	// PeakRSSBytes is the server's peak resident memory up to the end of this type.
	PeakRSSBytes int64 `json:"peakRssBytes"`
}

// Speedup is the same number of items as sequential single calls and as one batch.
type Speedup struct {
	Items int `json:"items"`
	// SinglesSeconds runs from the first call to the last answer.
	SinglesSeconds float64 `json:"singlesSeconds"`
	SingleP50Ms    float64 `json:"singleP50Ms"`
	// BatchSeconds are the runs of one batch, from submission until it was seen ended, and
	// BatchQueueWaitMs how long each waited in the queue before a worker took it.
	BatchSeconds     []float64 `json:"batchSeconds"`
	BatchQueueWaitMs []float64 `json:"batchQueueWaitMs"`
	// Speedup is SinglesSeconds over the median of BatchSeconds.
	Speedup float64 `json:"speedup"`
}

// Skipped is a type not measured, with the reason.
type Skipped struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// WriteTable prints the report for people.
func (rep *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "machine: %d cores, %s, %.1f GiB memory, %s, %s, load average %.2f at the start, %.2f at the end\n",
		rep.Machine.Cores, rep.Machine.CPU, float64(rep.Machine.MemoryBytes)/(1<<30), rep.Machine.OS, rep.Machine.Go,
		rep.Machine.LoadAverageStart, rep.Machine.LoadAverageEnd)
	s := rep.Settings
	fmt.Fprintf(&b, "server: %s %s; %d customers seeded; %d submitters × %d in flight; batches of %d; %gs per type\n",
		rep.Server, rep.Database, s.Customers, s.Submitters, s.InFlight, s.BatchSize, s.DurationSeconds)
	if rep.Seed != nil {
		fmt.Fprintf(&b, "seeding: %d customers created at %.0f items/s, %.0f µs of server CPU each\n", rep.Seed.Items,
			rep.Seed.ItemsPerSecond, rep.Seed.ServerCPUMicrosPerItem)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "type\titems/s\titems\tfailed\tCPU µs/item\taccept p50 ms\tp99 ms\tqueue wait ms\t"+
		"processing ms\tsingles s\t1 batch s\tspeedup\tpeak RSS MB\t")
	for _, t := range rep.Types {
		th := t.Throughput
		singles, batch, speedup := "-", "-", "-"
		if sp := t.Speedup; sp != nil {
			singles = fmt.Sprintf("%.2f", sp.SinglesSeconds)
			batch = fmt.Sprintf("%.3f", median(sp.BatchSeconds))
			speedup = fmt.Sprintf("%.1f×", sp.Speedup)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t\n",
			t.Type, th.ItemsPerSecond, th.Items, th.Failed, th.ServerCPUMicrosPerItem, th.AcceptP50Ms, th.AcceptP99Ms,
			th.QueueWaitMeanMs, th.ProcessingMeanMs, singles, batch, speedup, megabytes(t.PeakRSSBytes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range rep.Types {
		if t.SpeedupSkipped != "" {
			fmt.Fprintf(&b, "%s: no speedup: %s\n", t.Type, t.SpeedupSkipped)
		}
	}
	for _, sk := range rep.Skipped {
		fmt.Fprintf(&b, "%s: skipped: %s\n", sk.Type, sk.Reason)
	}
	fmt.Fprintf(&b, "server peak resident memory: %s MB\n", megabytes(rep.PeakRSSBytes))
	_, err := io.WriteString(w, b.String())
	return err
}

func megabytes(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(n)/(1<<20))
}

// readMachine describes this machine; what /proc does not tell stays empty.
func readMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(),
		LoadAverageStart: loadAverage()}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, ok := procField(string(data), "MemTotal"); ok {
			m.MemoryBytes = kb * 1024
		}
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				m.CPU = strings.TrimSpace(value)
				break
			}
		}
	}
	return m
}

// loadAverage returns the one-minute load average, 0 when /proc does not tell.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(data), " ")
	v, err := strconv.ParseFloat(first, 64)
	if err != nil {
		return 0
	}
	return v
}
