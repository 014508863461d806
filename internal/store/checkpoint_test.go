package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckpointerBoundsTheLog writes far more than the writer's own autocheckpoint would let
// through before it copies anything, and checks that the log file stays a fraction of it: the
// checkpointer copies the frames beside the writer, so that the writer reuses the log from its start.
func TestCheckpointerBoundsTheLog(t *testing.T) {
	defer func(every time.Duration) { checkpointEvery = every }(checkpointEvery)
	checkpointEvery = 100 * time.Millisecond
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tally.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE filler (b TEXT NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const rows, size = 120, 64 << 10
	row := strings.Repeat("x", size)
	for range rows {
		if err := db.Write(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO filler (b) VALUES (?)`, row)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(checkpointEvery / 8)
	}
	info, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if written := int64(rows * size); info.Size() > written/2 {
		t.Errorf("the log holds %d bytes after %d were written; want at most half of them", info.Size(), written)
	}
}
