// Package workload makes the items a benchmark sends: for each batch type, items shaped as that
// type's single endpoint's body, and the single call that does what one item does. The tally bench
// command and the Go benchmarks of the batch package use it, so both measure the same work.
//
// Items name customers that were seeded first (SeedItem makes them), chosen at random, and carry
// transaction and order ids unique to the run, so that none is refused as a duplicate.
package workload

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The batch types a benchmark drives, as in POST /batch/{type}.
const (
	Customers         = "customers"
	BalanceInquiry    = "balance-inquiry"
	BalanceAdjustment = "balance-adjustment"
	Orders            = "orders"
	Cashback          = "cashback"
	Redeem            = "redeem"
	Events            = "events"
)

// Type is one batch type: how to make its items and the single call equivalent to one item.
type Type struct {
	Name string
	// Method and Path are the single endpoint's, relative to the API base path; "{customerId}"
	// stands for the item's customer.
	Method, Path string
	// Spends is true when items take points away, so that customers must hold points first.
	Spends bool
	make   func(g *Gen, customerID string) any
}

// Types lists every type a benchmark knows, in the order it runs them: the types that need no
// points first, redemptions after the types that award points.
var Types = []Type{
	{Name: Customers, Method: http.MethodPost, Path: "/customers", make: (*Gen).customer},
	{Name: BalanceInquiry, Method: http.MethodGet, Path: "/customers/{customerId}/balance", make: (*Gen).balanceInquiry},
	{Name: BalanceAdjustment, Method: http.MethodPost, Path: "/transactions/manual", make: (*Gen).adjustment},
	{Name: Orders, Method: http.MethodPost, Path: "/orders", make: (*Gen).order},
	{Name: Cashback, Method: http.MethodPost, Path: "/transactions/cashback", make: (*Gen).cashback},
	{Name: Redeem, Method: http.MethodPost, Path: "/transactions/redeem", Spends: true, make: (*Gen).redeem},
	{Name: Events, Method: http.MethodPost, Path: "/events", make: (*Gen).event},
}

// Lookup returns the type named name.
func Lookup(name string) (Type, bool) {
	for _, t := range Types {
		if t.Name == name {
			return t, true
		}
	}
	return Type{}, false
}

// FundPoints is what FundItem gives each seeded customer: enough for every redemption a run makes.
const FundPoints = 1_000_000

// redeemPoints is what one redemption takes.
const redeemPoints = 10

// Item is one item: its JSON and the customer it names.
type Item struct {
	CustomerID string
	JSON       json.RawMessage
}

// Single returns the single call that does what the item does: method, path relative to the API
// base path, and body (nil for none).
func (t Type) Single(it Item) (method, path string, body []byte) {
	if t.Method == http.MethodGet {
		return t.Method, expand(t.Path, it.CustomerID), nil
	}
	return t.Method, expand(t.Path, it.CustomerID), it.JSON
}

func expand(path, customerID string) string {
	return strings.Replace(path, "{customerId}", url.PathEscape(customerID), 1)
}

// Source holds what the generators of one run share: the prefix that makes the run's ids unique,
// the number of seeded customers, and the sequence of transaction ids.
type Source struct {
	prefix string
	seeds  int
	seq    atomic.Int64
	now    string
}

// NewSource returns the source of a run whose ids start with prefix and whose items name the
// seeds customers SeedItem makes, at the time now.
func NewSource(prefix string, seeds int, now time.Time) *Source {
	return &Source{prefix: prefix, seeds: max(seeds, 1), now: now.UTC().Format(time.RFC3339)}
}

// CustomerID is the id of seeded customer i.
func (s *Source) CustomerID(i int) string { return s.prefix + "c" + strconv.Itoa(i) }

// Gen makes items; each goroutine needs its own, as it draws customers from its own random source.
type Gen struct {
	s   *Source
	rnd *rand.Rand
}

// Gen returns a generator whose random choices follow seed.
func (s *Source) Gen(seed uint64) *Gen {
	return &Gen{s: s, rnd: rand.New(rand.NewPCG(seed, 0x7a11))}
}

// Item returns a new item of type t for a seeded customer chosen at random.
func (g *Gen) Item(t Type) Item {
	id := g.s.CustomerID(g.rnd.IntN(g.s.seeds))
	return Item{CustomerID: id, JSON: mustJSON(t.make(g, id))}
}

// SeedItem returns the customers item that creates seeded customer i.
func (g *Gen) SeedItem(i int) Item {
	id := g.s.CustomerID(i)
	return Item{CustomerID: id, JSON: mustJSON(g.customer(id))}
}

// FundItem returns the balance-adjustment item that gives seeded customer i FundPoints points.
func (g *Gen) FundItem(i int) Item {
	id := g.s.CustomerID(i)
	return Item{CustomerID: id, JSON: mustJSON(manual{CustomerID: id, TransactionID: g.txnID("fund"),
		Points: FundPoints, Reason: "benchmark funding"})}
}

// txnID returns an id no other item of the run has.
func (g *Gen) txnID(kind string) string {
	return g.s.prefix + kind + strconv.FormatInt(g.s.seq.Add(1), 10)
}

// The item shapes, written out so that the benchmark sends what a client of the API sends.

type attributes struct {
	DisplayName string            `json:"displayName"`
	Country     string            `json:"country"`
	City        string            `json:"city"`
	Custom      map[string]string `json:"custom"`
}

type customer struct {
	CustomerID         string     `json:"customerId"`
	Email              string     `json:"email"`
	CustomerAttributes attributes `json:"customerAttributes"`
}

// customer is a typical profile: an email, a display name, a place and one custom attribute.
func (g *Gen) customer(id string) any {
	return customer{CustomerID: id, Email: id + "@example.com", CustomerAttributes: attributes{
		DisplayName: "Customer " + id, Country: "EG", City: "Cairo",
		Custom: map[string]string{"tier": [...]string{"bronze", "silver", "gold"}[g.rnd.IntN(3)]}}}
}

type balanceInquiry struct {
	CustomerID string `json:"customerId"`
}

func (g *Gen) balanceInquiry(id string) any { return balanceInquiry{CustomerID: id} }

type manual struct {
	CustomerID    string `json:"customerId"`
	TransactionID string `json:"transactionId"`
	Points        int64  `json:"points"`
	Reason        string `json:"reason"`
}

func (g *Gen) adjustment(id string) any {
	return manual{CustomerID: id, TransactionID: g.txnID("adj"), Points: 100, Reason: "goodwill"}
}

type lineItem struct {
	ProductID string      `json:"productId"`
	Quantity  json.Number `json:"quantity"`
	Price     json.Number `json:"price"`
}

type order struct {
	CustomerID    string      `json:"customerId"`
	OrderID       string      `json:"orderId"`
	OrderDate     string      `json:"orderDate"`
	TotalPaid     json.Number `json:"totalPaid"`
	TotalPrice    json.Number `json:"totalPrice"`
	TotalDiscount json.Number `json:"totalDiscount"`
	LineItems     []lineItem  `json:"lineItems"`
}

// order is an order of two lines with a discount; the program's cashback earns points on totalPaid.
func (g *Gen) order(id string) any {
	return order{CustomerID: id, OrderID: g.txnID("o"), OrderDate: g.s.now, TotalPaid: "45.50",
		TotalPrice: "50.00", TotalDiscount: "4.50", LineItems: []lineItem{
			{ProductID: "p" + strconv.Itoa(g.rnd.IntN(500)), Quantity: "2", Price: "15.00"},
			{ProductID: "p" + strconv.Itoa(g.rnd.IntN(500)), Quantity: "1", Price: "20.00"},
		}}
}

type payment struct {
	CustomerID      string      `json:"customerId"`
	TransactionID   string      `json:"transactionId"`
	TransactionTime string      `json:"transactionTime"`
	Amount          json.Number `json:"amount,omitempty"`
	Points          int64       `json:"points,omitempty"`
}

func (g *Gen) cashback(id string) any {
	return payment{CustomerID: id, TransactionID: g.txnID("cb"), TransactionTime: g.s.now, Amount: "19.99"}
}

func (g *Gen) redeem(id string) any {
	return payment{CustomerID: id, TransactionID: g.txnID("rd"), TransactionTime: g.s.now, Points: redeemPoints}
}

type events struct {
	CustomerID string                    `json:"customerId"`
	Events     map[string]map[string]any `json:"events"`
}

// event is one event with a little metadata, the shape of analytics ingestion.
func (g *Gen) event(id string) any {
	return events{CustomerID: id, Events: map[string]map[string]any{
		"review_submitted": {"rating": 1 + g.rnd.IntN(5), "productId": "p" + strconv.Itoa(g.rnd.IntN(500))}}}
}

// Envelope returns the body of a batch submission holding items.
func Envelope(items []Item) []byte {
	n := len(`{"body":[]}`)
	for _, it := range items {
		n += len(it.JSON) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"body":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it.JSON...)
	}
	return append(b, "]}"...)
}

// mustJSON encodes the item shapes above, which always encode.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("workload: encode %T: %v", v, err))
	}
	return b
}
