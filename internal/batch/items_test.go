package batch

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

// TestItemsPages reads a job's items in small pages, for each status filter, while its first
// chunk is processed and the rest pending, and again once it is stopped: the pages cross the line
// between the items with a stored result and the others without a gap or a repeat, every item has
// the status it should and its request as submitted.
func TestItemsPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		f := setup(t, d).newTenant(t)
		const n = 250
		bad := []int{3, 50, 99, 100, 180}
		id := f.submit(t, "customers", 0, n, bad...)
		if done, err := f.s.runChunk(ctx, id); err != nil || done {
			t.Fatalf("first chunk: done %v, %v", done, err)
		}
		status := func(i int, rest string) string {
			switch {
			case i >= DefaultChunkSize:
				return rest
			case slices.Contains(bad, i):
				return store.ItemFailed
			}
			return store.ItemSucceeded
		}
		check := func(t *testing.T, rest string) {
			for _, filter := range append([]string{""}, itemStatuses...) {
				var want []int
				for i := range n {
					if filter == "" || status(i, rest) == filter {
						want = append(want, i)
					}
				}
				var got []int
				cursor := ""
				for page := 0; ; page++ {
					p, err := f.s.Items(ctx, f.tenant, id, filter, Page{Limit: 7, StartAfter: cursor})
					if err != nil {
						t.Fatal(err)
					}
					for _, it := range p.Items {
						got = append(got, it.Index)
						request := fmt.Sprintf(`{"customerId":"c%d"}`, it.Index)
						if slices.Contains(bad, it.Index) {
							request = `{"email":"nobody@example.com"}`
						}
						wantResult := it.Status == store.ItemSucceeded || it.Status == store.ItemFailed
						if it.Status != status(it.Index, rest) || string(it.Request) != request || (it.Result != nil) != wantResult ||
							(wantResult && !json.Valid(it.Result)) {
							t.Errorf("status %q: item %+v; want status %s, request %s", filter, it, status(it.Index, rest), request)
						}
					}
					if !p.HasMore {
						break
					}
					cursor = p.NextCursor
				}
				if !slices.Equal(got, want) {
					t.Errorf("status %q: pages list items %v; want %v", filter, got, want)
				}
			}
		}
		t.Run("running", func(t *testing.T) { check(t, store.ItemPending) })
		if _, err := f.s.StopJob(ctx, f.tenant, id); err != nil {
			t.Fatal(err)
		}
		t.Run("stopped", func(t *testing.T) { check(t, store.ItemStopped) })
	})
}
