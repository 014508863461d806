package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// checkpointEvery is how often the checkpointer copies new WAL frames into the database file (a
// variable for tests). Each checkpoint copies every page changed since the last one, so checkpoints
// far more often copy the same hot pages over and over: every 100 ms, 100-item chunks of new
// customers went from 6,100 to 4,000 a second (one run each at 100,000 customers).
var checkpointEvery = time.Second

// A checkpoint copies beside the writer until a pass copies at most turnFrames (about 1 MB), and
// at most maxPassesBeside times; the rest is copied in a turn at the writer.
const (
	turnFrames      = 256
	maxPassesBeside = 4
)

// checkpointer copies SQLite's write-ahead log into the database file on a connection of its own,
// beside the writer. Left to the writer (wal_autocheckpoint), the copy runs inside a commit while
// the single writer is held: 40–85 ms at 100,000 customers, several times a minute under batch
// load, and every transaction waiting meanwhile (a batch submission's accept time) waits that long
// too. A PASSIVE checkpoint never waits for the writer nor blocks it, but the log starts over from
// its beginning only when a write begins with every frame copied, which under steady writes never
// happens to a copy made beside them: so the checkpointer copies the bulk beside the writer, then
// takes a turn at the writer (turns) to copy the few frames written meanwhile, if any. The writer keeps a
// far larger autocheckpoint as a backstop should this one fall behind.
type checkpointer struct {
	conn   *sql.DB
	turns  *writeTurns
	stop   context.CancelFunc
	wg     sync.WaitGroup
	logger *slog.Logger
}

func startCheckpointer(conn *sql.DB, turns *writeTurns) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, turns: turns, stop: stop, logger: slog.Default()}
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

// checkpoint copies the log's frames into the database file, all of them unless a reader still
// needs older ones. All frames copied beside the writer is not enough: a transaction that began
// before the copy ended appends to the log rather than start it over, and so does every one after
// it, so the last copy runs in a turn of its own.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	// Copy beside the writer until a pass finds little new, so that the turn's pass is short.
	// copied counts every frame copied since the log last started over, so one pass copied the
	// difference (negative when the log started over in between: little, too).
	frames, copied, err := c.passive(ctx)
	for pass := 1; err == nil && frames > 0 && pass < maxPassesBeside; pass++ {
		before := copied
		if frames, copied, err = c.passive(ctx); copied-before <= turnFrames {
			break
		}
	}
	if err != nil || frames == 0 {
		return err
	}
	// In the background queue: a chunk does not end early for it, and it goes in arrival order.
	if err := c.turns.take(ctx, true); err != nil {
		return fmt.Errorf("store: checkpoint: wait for the writer: %w", err)
	}
	defer c.turns.give()
	_, _, err = c.passive(ctx)
	return err
}

// passive runs one PASSIVE checkpoint and returns the frames in the log and those copied.
func (c *checkpointer) passive(ctx context.Context) (frames, copied int, err error) {
	var blocked int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&blocked, &frames, &copied); err != nil {
		return 0, 0, fmt.Errorf("store: checkpoint: %w", err)
	}
	return frames, copied, nil
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	c.stop()
	c.wg.Wait()
	return c.conn.Close()
}
