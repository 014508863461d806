package store

import (
	"context"
	"slices"
	"sync"
)

// maxPassed is how many foreground writes may go ahead of a waiting background one.
const maxPassed = 4

// writeTurns hands out turns at SQLite's single write connection. database/sql alone gives a freed
// connection to a waiter picked at random, so a batch submission could wait behind several batch
// chunks in a row. Here waiters go in arrival order, foreground writes (API calls, submissions) ahead
// of background ones (batch chunks): a submission waits for the chunk in progress and the writes
// already queued before it, and no more. A background write still goes next once maxPassed
// foreground writes went ahead of it, so that a steady stream of calls cannot stall the batches.
// River's own statements (job fetches, completions, maintenance) and the background preparing of
// shared statements use the connection without a turn: they are short, and a turn holder may wait
// for them in database/sql, never the other way round.
type writeTurns struct {
	mu         sync.Mutex
	busy       bool
	foreground []chan struct{}
	background []chan struct{}
	passed     int // foreground turns given in a row while a background write waited
}

// take waits for the caller's turn; the caller must give it back unless it returns an error.
func (w *writeTurns) take(ctx context.Context, background bool) error {
	w.mu.Lock()
	if !w.busy {
		w.busy = true
		w.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	queue := &w.foreground
	if background {
		queue = &w.background
	}
	*queue = append(*queue, turn)
	w.mu.Unlock()
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		if i := slices.Index(*queue, turn); i >= 0 {
			*queue = slices.Delete(*queue, i, i+1)
			w.mu.Unlock()
			return ctx.Err()
		}
		w.mu.Unlock()
		// The turn came as the context ended: pass it on.
		w.give()
		return ctx.Err()
	}
}

// give ends the current turn and starts the next one, if anyone waits.
func (w *writeTurns) give() {
	w.mu.Lock()
	defer w.mu.Unlock()
	var next chan struct{}
	switch {
	case len(w.foreground) > 0 && (len(w.background) == 0 || w.passed < maxPassed):
		next, w.foreground = w.foreground[0], w.foreground[1:]
		if len(w.background) > 0 {
			w.passed++
		}
	case len(w.background) > 0:
		next, w.background = w.background[0], w.background[1:]
		w.passed = 0
	default:
		w.busy, w.passed = false, 0
		return
	}
	close(next)
}

// waiting reports whether foreground writes wait for a turn.
func (w *writeTurns) waiting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.foreground) > 0
}
