package httpapi

import (
	"net/http"

	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// CustomersPage is the answer of GET /customers: a page of whole profiles in customerId order.
type CustomersPage struct {
	Customers  []CustomerDetails `json:"customers"`
	HasMore    bool              `json:"hasMore"`
	NextCursor string            `json:"nextCursor,omitempty"`
}

// listingRoutes are Tally's additions that page through all of a tenant's customers and balances,
// which `tally export` reads. Both need the secret key: they show personal data and balances.
func (s *Server) listingRoutes() []route {
	customers := op("GET", "/customers", "List the program's customers with their whole profiles (Tally addition)",
		[]string{"Customers"}, true, nil, CustomersPage{})
	customers.Query = pageParams()
	return []route{
		{Operation: customers, handle: s.listCustomers},
	}
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	page := CustomersPage{Customers: []CustomerDetails{}}
	err = s.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		cs, err := tx.ListCustomers(r.Context(), tenantOf(r).ID, p.StartAfter, p.Limit+1)
		if err != nil {
			return err
		}
		if len(cs) > p.Limit {
			cs = cs[:p.Limit]
			page.HasMore = true
			page.NextCursor = cs[len(cs)-1].CustomerID
		}
		for _, c := range cs {
			page.Customers = append(page.Customers, customerDetails(c))
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// customerDetails is a customer as GET /customers/{customerId}/details shows it.
func customerDetails(c loyalty.Customer) CustomerDetails {
	return CustomerDetails{GameballID: c.GameballID, CustomerID: c.CustomerID, Email: c.Email,
		Mobile: c.Mobile, Guest: c.Guest, CustomerAttributes: detailedAttributes{c.Attributes, c.Tags},
		CreatedAt: c.CreatedAt.Format(timeFormat), UpdatedAt: c.UpdatedAt.Format(timeFormat)}
}
