package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// publicAttributes are the attributes GET /customers/{customerId} shows with only the API key: none
// of them identifies a person.
type publicAttributes struct {
	Gender         string                     `json:"gender,omitempty"`
	Country        string                     `json:"country,omitempty"`
	City           string                     `json:"city,omitempty"`
	Zip            string                     `json:"zip,omitempty"`
	Source         string                     `json:"source,omitempty"`
	Utms           []json.RawMessage          `json:"utms,omitempty"`
	Devices        []json.RawMessage          `json:"devices,omitempty"`
	PaymentMethods []string                   `json:"paymentMethods,omitempty"`
	TotalSpent     *json.Number               `json:"totalSpent,omitempty"`
	TotalOrders    *int64                     `json:"totalOrders,omitempty"`
	LastOrderDate  string                     `json:"lastOrderDate,omitempty"`
	Custom         map[string]json.RawMessage `json:"custom,omitempty"`
	Tags           []string                   `json:"tags"`
}

// CustomerView is the answer of GET /customers/{customerId}.
type CustomerView struct {
	GameballID         int64            `json:"gameballId"`
	CustomerID         string           `json:"customerId"`
	Guest              bool             `json:"guest"`
	CustomerAttributes publicAttributes `json:"customerAttributes"`
}

// detailedAttributes are a customer's whole profile with its tags. Tags, being shallower, hides the
// embedded CustomerAttributes.Tags (which the engine never stores), so the JSON has one "tags" key:
// the customer's tags, [] when it has none.
type detailedAttributes struct {
	loyalty.CustomerAttributes
	Tags []string `json:"tags"`
}

// CustomerDetails is the answer of GET /customers/{customerId}/details: the whole profile.
type CustomerDetails struct {
	GameballID         int64              `json:"gameballId"`
	CustomerID         string             `json:"customerId"`
	Email              string             `json:"email,omitempty"`
	Mobile             string             `json:"mobile,omitempty"`
	Guest              bool               `json:"guest"`
	CustomerAttributes detailedAttributes `json:"customerAttributes"`
	CreatedAt          string             `json:"createdAt" format:"date-time"`
	UpdatedAt          string             `json:"updatedAt" format:"date-time"`
}

// TagsRequest is the body of the tag endpoints: a comma-separated list.
type TagsRequest struct {
	Tags string `json:"tags" doc:"Comma-separated tags, e.g. \"vip, newsletter\"."`
}

// Success is the answer of operations that return no object.
type Success struct {
	Success bool     `json:"success"`
	Message string   `json:"message,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

func (s *Server) customerRoutes() []route {
	tags := []string{"Customers"}
	notFound := []int{http.StatusNotFound}
	return []route{
		{Operation: op("POST", "/customers", "Create or update a customer", tags, false, loyalty.CustomerRequest{}, engine.CustomerResult{}),
			handle: writeOp(s, s.cfg.Engine.UpsertCustomer)},
		{Operation: op("GET", "/customers/{customerId}", "Get a customer (no personal data)", tags, false, nil, CustomerView{}, notFound...),
			handle: s.getCustomer},
		{Operation: op("GET", "/customers/{customerId}/details", "Get a customer's whole profile", tags, true, nil, CustomerDetails{}, notFound...),
			handle: s.getCustomerDetails},
		{Operation: op("DELETE", "/customers/{customerId}", "Delete a customer and everything recorded about them", tags, true, nil, Success{}, notFound...),
			handle: s.deleteCustomer},
		{Operation: op("POST", "/customers/{customerId}/tags", "Attach tags to a customer", tags, true, TagsRequest{}, Success{}, notFound...),
			handle: s.changeTags(true)},
		{Operation: op("DELETE", "/customers/{customerId}/tags", "Remove tags from a customer", tags, true, TagsRequest{}, Success{}, notFound...),
			handle: s.changeTags(false)},
	}
}

func (s *Server) readCustomer(r *http.Request) (loyalty.Customer, error) {
	var c loyalty.Customer
	err := s.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		c, err = s.cfg.Engine.Customer(r.Context(), tx, tenantOf(r).ID, r.PathValue("customerId"))
		return err
	})
	return c, err
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.readCustomer(r)
	if err != nil {
		return err
	}
	a := c.Attributes
	writeJSON(w, http.StatusOK, CustomerView{GameballID: c.GameballID, CustomerID: c.CustomerID, Guest: c.Guest,
		CustomerAttributes: publicAttributes{Gender: a.Gender, Country: a.Country, City: a.City, Zip: a.Zip,
			Source: a.Source, Utms: a.Utms, Devices: a.Devices, PaymentMethods: a.PaymentMethods,
			TotalSpent: a.TotalSpent, TotalOrders: a.TotalOrders, LastOrderDate: a.LastOrderDate,
			Custom: a.Custom, Tags: c.Tags}})
	return nil
}

func (s *Server) getCustomerDetails(w http.ResponseWriter, r *http.Request) error {
	c, err := s.readCustomer(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, customerDetails(c))
	return nil
}

// customerDetails is a customer as GET /customers/{customerId}/details shows it.
func customerDetails(c loyalty.Customer) CustomerDetails {
	return CustomerDetails{GameballID: c.GameballID, CustomerID: c.CustomerID, Email: c.Email,
		Mobile: c.Mobile, Guest: c.Guest, CustomerAttributes: detailedAttributes{c.Attributes, c.Tags},
		CreatedAt: c.CreatedAt.Format(timeFormat), UpdatedAt: c.UpdatedAt.Format(timeFormat)}
}

func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request) error {
	err := s.cfg.DB.Write(r.Context(), func(tx *store.Tx) error {
		return s.cfg.Engine.DeleteCustomer(r.Context(), tx, tenantOf(r).ID, r.PathValue("customerId"))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, Success{Success: true, Message: "customer deleted"})
	return nil
}

func (s *Server) changeTags(add bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req TagsRequest
		if err := decodeBody(r, &req); err != nil {
			return err
		}
		var tags []string
		err := s.cfg.DB.Write(r.Context(), func(tx *store.Tx) error {
			var err error
			tags, err = s.cfg.Engine.ChangeTags(r.Context(), tx, tenantOf(r).ID, r.PathValue("customerId"), req.Tags, add)
			return err
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, Success{Success: true, Tags: tags})
		return nil
	}
}
