// Package transfertest helps test imports: a progress report that interrupts an import part way.
package transfertest

import "context"

// CancelAfter is a transfer.Progress that calls Cancel once at least Rows rows have finished, which
// happens after whole batches were accepted and applied, with more batches possibly in flight.
type CancelAfter struct {
	Rows   int
	Cancel context.CancelFunc
	done   int
}

// Add counts finished rows and cancels once there are enough.
func (c *CancelAfter) Add(rows, failed int) {
	if c.done += rows; c.done >= c.Rows {
		c.Cancel()
	}
}

// Finish does nothing: the import has ended.
func (c *CancelAfter) Finish() {}
