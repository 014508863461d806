package httpapi

import (
	"net/http"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// CustomersPage is the answer of GET /customers: a page of whole profiles in customerId order.
type CustomersPage struct {
	Customers  []CustomerDetails `json:"customers"`
	HasMore    bool              `json:"hasMore"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// CustomerBalance is one customer's balance as GET /balances lists it: the customer's id and what
// GET /customers/{customerId}/balance shows.
type CustomerBalance struct {
	CustomerID string `json:"customerId"`
	engine.BalanceResult
}

// BalancesPage is the answer of GET /balances: a page of balances in customerId order.
type BalancesPage struct {
	Balances   []CustomerBalance `json:"balances"`
	HasMore    bool              `json:"hasMore"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// listingRoutes are Tally's additions that page through all of a tenant's customers and balances,
// which `tally export` reads. Both need the secret key: they show personal data and balances.
func (s *Server) listingRoutes() []route {
	customers := op("GET", "/customers", "List the program's customers with their whole profiles (Tally addition)",
		[]string{"Customers"}, true, nil, CustomersPage{})
	customers.Query = pageParams()
	balances := op("GET", "/balances", "List the balances of all the program's customers (Tally addition)",
		[]string{"Customers"}, true, nil, BalancesPage{})
	balances.Query = pageParams()
	return []route{
		{Operation: customers, handle: s.listCustomers},
		{Operation: balances, handle: s.listBalances},
	}
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	page := CustomersPage{Customers: []CustomerDetails{}}
	more, cursor, err := s.customerPage(r, func(tx *store.Tx, c loyalty.Customer) error {
		page.Customers = append(page.Customers, customerDetails(c))
		return nil
	})
	if err != nil {
		return err
	}
	page.HasMore, page.NextCursor = more, cursor
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) listBalances(w http.ResponseWriter, r *http.Request) error {
	page := BalancesPage{Balances: []CustomerBalance{}}
	more, cursor, err := s.customerPage(r, func(tx *store.Tx, c loyalty.Customer) error {
		b, err := s.cfg.Engine.Balance(r.Context(), tx, tenantOf(r).ID, c.CustomerID)
		page.Balances = append(page.Balances, CustomerBalance{CustomerID: c.CustomerID, BalanceResult: b})
		return err
	})
	if err != nil {
		return err
	}
	page.HasMore, page.NextCursor = more, cursor
	writeJSON(w, http.StatusOK, page)
	return nil
}

// customerPage reads the page of the tenant's customers that the request asks for, in one read
// transaction, and calls fn with each; it returns whether more follow and the cursor of the next
// page.
func (s *Server) customerPage(r *http.Request, fn func(*store.Tx, loyalty.Customer) error) (bool, string, error) {
	p, err := pageOf(r)
	if err != nil {
		return false, "", err
	}
	more, cursor := false, ""
	err = s.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		cs, err := tx.ListCustomers(r.Context(), tenantOf(r).ID, p.StartAfter, p.Limit+1)
		if err != nil {
			return err
		}
		if len(cs) > p.Limit {
			cs = cs[:p.Limit]
			more, cursor = true, cs[len(cs)-1].CustomerID
		}
		for _, c := range cs {
			if err := fn(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	return more, cursor, err
}
