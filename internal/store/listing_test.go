package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
	"github.com/tally-loyalty/tally/internal/store/storetest"
)

func TestListCustomersPagesInCustomerIDOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db, a, _ := setup(t, d)
		err := db.Write(ctx, func(tx *store.Tx) error {
			b, _, err := tx.CreateTenant(ctx, "other", now)
			if err != nil {
				return err
			}
			for _, id := range []string{"c3", "c1", "c5", "c2", "c4"} {
				if _, err := tx.SaveCustomer(ctx, a.ID, loyalty.Customer{CustomerID: id}, now); err != nil {
					return err
				}
			}
			_, err = tx.SaveCustomer(ctx, b.ID, loyalty.Customer{CustomerID: "c0"}, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var pages [][]string
		for after := ""; ; {
			var cs []loyalty.Customer
			err := db.Read(ctx, func(tx *store.Tx) error {
				var err error
				cs, err = tx.ListCustomers(ctx, a.ID, after, 2)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) == 0 {
				break
			}
			var ids []string
			for _, c := range cs {
				ids = append(ids, c.CustomerID)
			}
			pages = append(pages, ids)
			after = ids[len(ids)-1]
		}
		want := [][]string{{"c1", "c2"}, {"c3", "c4"}, {"c5"}}
		if !slices.EqualFunc(pages, want, slices.Equal) {
			t.Fatalf("pages %v, want %v", pages, want)
		}
	})
}
