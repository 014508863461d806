package transfer

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress shows how an import advances: Add after each batch with the rows it finished and how
// many of them failed, Finish at the end.
type Progress interface {
	Add(rows, failed int)
	Finish()
}

// NewProgress returns a progress bar on a terminal, and otherwise plain lines at most one every
// interval. total is the number of rows to import; 0 when unknown (standard input).
func NewProgress(w io.Writer, terminal bool, total int, label string, interval time.Duration) Progress {
	if !terminal {
		return &progressLines{w: w, total: total, label: label, every: interval, now: time.Now, start: time.Now()}
	}
	limit := int64(total)
	if total == 0 {
		limit = -1 // a spinner with a count
	}
	bar := progressbar.NewOptions64(limit,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return &progressBar{bar: bar, label: label}
}

type progressBar struct {
	bar    *progressbar.ProgressBar
	label  string
	failed int
}

func (p *progressBar) Add(rows, failed int) {
	// The bar only draws; an error writing to the terminal must not stop the import.
	_ = p.bar.Add(rows)
	if failed > 0 {
		p.failed += failed
		p.bar.Describe(fmt.Sprintf("%s (%d failed)", p.label, p.failed))
	}
}

func (p *progressBar) Finish() { _ = p.bar.Finish() }

// progressLines writes a line such as
//
//	customers: 12000/25000 rows (48%), 3 failed, 2150 rows/s, about 6s left
//
// when at least its interval has passed since the last one.
type progressLines struct {
	w            io.Writer
	total        int
	label        string
	every        time.Duration
	now          func() time.Time
	start, last  time.Time
	rows, failed int
}

func (p *progressLines) Add(rows, failed int) {
	p.rows += rows
	p.failed += failed
	now := p.now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.rows) / elapsed.Seconds()
	}
	line := fmt.Sprintf("%s: %d rows", p.label, p.rows)
	if p.total > 0 {
		line = fmt.Sprintf("%s: %d/%d rows (%d%%)", p.label, p.rows, p.total, p.rows*100/p.total)
	}
	line += fmt.Sprintf(", %d failed, %.0f rows/s", p.failed, rate)
	if p.total > p.rows && rate > 0 {
		left := time.Duration(float64(p.total-p.rows) / rate * float64(time.Second))
		line += fmt.Sprintf(", about %s left", left.Round(time.Second))
	}
	fmt.Fprintln(p.w, line)
}

// Finish writes nothing: the summary that follows says where the import ended.
func (p *progressLines) Finish() {}
