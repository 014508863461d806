package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// checkpointEvery is how often the checkpointer copies new WAL frames into the database file.
const checkpointEvery = 100 * time.Millisecond

// checkpointer copies SQLite's write-ahead log into the database file on a connection of its own,
// beside the writer. Left to the writer (wal_autocheckpoint), the copy runs inside a commit while
// the single writer is held: 40–85 ms at 100,000 customers, several times a minute under batch
// load, and every transaction waiting meanwhile (a batch submission's accept time) waits that long
// too. PASSIVE checkpoints never wait for the writer nor block it; the writer keeps a far larger
// autocheckpoint as a backstop should this one fall behind.
type checkpointer struct {
	conn   *sql.DB
	stop   context.CancelFunc
	wg     sync.WaitGroup
	logger *slog.Logger
}

func startCheckpointer(conn *sql.DB) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, stop: stop, logger: slog.Default()}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tick := time.NewTicker(checkpointEvery)
		defer tick.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := c.checkpoint(ctx)
			if err != nil && !failing && ctx.Err() == nil {
				// The writer's own autocheckpoint still bounds the log: say so once, and go on.
				c.logger.Warn("store: WAL checkpoints fail; the writer checkpoints less often instead", "err", err)
			}
			failing = err != nil
		}
	}()
	return c
}

func (c *checkpointer) checkpoint(ctx context.Context) error {
	// It answers whether it was blocked, the log's frames and those copied: none of them calls for
	// anything here.
	var blocked, frames, copied int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&blocked, &frames, &copied); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	c.stop()
	c.wg.Wait()
	return c.conn.Close()
}
