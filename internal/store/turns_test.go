package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// waiters starts one goroutine per name, in order, each waiting for a turn (background when its
// name starts with "b") and recording its name when it gets it; it returns once all are queued.
func waiters(t *testing.T, w *writeTurns, names []string, got chan<- string) {
	t.Helper()
	for i, name := range names {
		go func() {
			if err := w.take(context.Background(), name[0] == 'b'); err != nil {
				t.Error(err)
				return
			}
			got <- name
			w.give()
		}()
		deadline := time.Now().Add(5 * time.Second)
		for {
			w.mu.Lock()
			queued := len(w.foreground)+len(w.background) == i+1
			w.mu.Unlock()
			if queued {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never queued", name)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func TestWriteTurns(t *testing.T) {
	for _, c := range []struct {
		name           string
		arrivals, want []string
	}{
		{"foreground first, each kind in arrival order", []string{"b1", "f1", "b2", "f2"}, []string{"f1", "f2", "b1", "b2"}},
		{"background after maxPassed foreground", []string{"b1", "f1", "f2", "f3", "f4", "f5", "f6"},
			[]string{"f1", "f2", "f3", "f4", "b1", "f5", "f6"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w writeTurns
			if err := w.take(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			got := make(chan string, len(c.arrivals))
			waiters(t, &w, c.arrivals, got)
			w.give()
			var order []string
			for range c.arrivals {
				order = append(order, <-got)
			}
			if !slices.Equal(order, c.want) {
				t.Errorf("turns went to %v; want %v", order, c.want)
			}
			if w.take(context.Background(), true) != nil || !w.busy {
				t.Error("the writer is not free after the last turn")
			}
		})
	}

	t.Run("a waiter whose context ends leaves the queue", func(t *testing.T) {
		var w writeTurns
		if err := w.take(context.Background(), false); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := w.take(ctx, true); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("take: %v; want the deadline", err)
		}
		if len(w.background) != 0 {
			t.Fatalf("%d waiting after the deadline", len(w.background))
		}
		w.give()
		if w.busy {
			t.Error("the writer is busy with nobody holding it")
		}
	})
}

// TestWriteGivesItsTurnBack checks that a write transaction that fails or panics leaves SQLite's
// writer to the next one.
func TestWriteGivesItsTurnBack(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir()+"/tally.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	failed := errors.New("refused")
	if err := db.Write(ctx, func(*Tx) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("write: %v; want its own error", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not go on")
			}
		}()
		_ = db.WriteBackground(ctx, func(*Tx) error { panic("broken") })
	}()
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.Write(wait, func(tx *Tx) error {
		_, err := tx.Exec(wait, `CREATE TABLE after_panic (x INTEGER)`)
		return err
	}); err != nil {
		t.Fatalf("the write after them: %v", err)
	}
}
