// Package engine applies Tally's loyalty operations inside a store transaction. The single-object
// endpoints and the batch workers both call it, so each business rule has exactly one
// implementation: a single call is a transaction around one operation, a batch chunk is a
// transaction around many.
package engine

import (
	"context"
	"time"

	"github.com/tally-loyalty/tally/internal/store"
)

// Op is one loyalty operation in the form both callers use: it validates req, applies it inside tx
// for the tenant, and returns the result the API shows. A single endpoint runs one Op in its own
// transaction; a batch runs one Op per item inside a chunk's transaction.
type Op[Req, Res any] func(ctx context.Context, tx *store.Tx, tenantID int64, req *Req) (Res, error)

// Engine carries what every operation needs besides its transaction: the clock.
type Engine struct {
	// Now tells the time; tests move it instead of sleeping.
	Now func() time.Time
}

// New returns an Engine that reads the clock now.
func New(now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	return &Engine{Now: func() time.Time { return now().UTC() }}
}
