// Package httpapi is Tally's HTTP interface: the routes of the Gameball-compatible API and Tally's
// additions, authentication, request decoding, and the mapping of errors to HTTP statuses, each in
// one place. Handlers decode a request, call the engine inside a store transaction and write JSON.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tally-loyalty/tally/internal/apidocs"
	"github.com/tally-loyalty/tally/internal/batch"
	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/openapi"
	"github.com/tally-loyalty/tally/internal/store"
)

// BasePath is the reference API's base path. The aliases below serve the same routes; v4.1 requires
// the secret key on every call.
const BasePath = "/api/v4.0/integrations"

var basePaths = []struct {
	prefix       string
	alwaysSecret bool
}{
	{BasePath, false},
	{"/api/v4/integrations", false},
	{"/api/v4.1/integrations", true},
}

// DefaultMaxBodyBytes is the request size limit unless configured otherwise: room for a batch of
// 1,000 orders with line items.
const DefaultMaxBodyBytes = 8 << 20

// Config is what a Server needs.
type Config struct {
	DB           *store.DB
	Engine       *engine.Engine
	Logger       *slog.Logger
	MaxBodyBytes int64
	Version      string
	// RateLimits limits requests per tenant and failed authentications per source; the zero value
	// limits nothing.
	RateLimits RateLimits
	// Batches accepts and reports batch jobs; without it the server has no batch routes.
	Batches *batch.Service
}

// Server serves Tally's HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	limits  *limiter
	routes  []route
	handler http.Handler
	spec    []byte       // the OpenAPI document, built once from routes
	docs    http.Handler // the documentation page and its assets
}

// handlerFunc is a handler that reports failure by returning an error; the server writes it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one endpoint: its description for the OpenAPI document and its handler. Path is relative
// to the API base paths unless the operation is Public, when it is absolute.
type route struct {
	openapi.Operation
	handle handlerFunc
	// undocumented leaves the route out of the API description: a fallback that only answers an
	// error where the router would otherwise give a misleading one.
	undocumented bool
}

// New builds a Server with every route registered.
func New(cfg Config) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), metrics: newMetrics()}
	limits, err := newLimiter(cfg.RateLimits, s.now)
	if err != nil {
		return nil, err
	}
	s.limits = limits
	s.docs = apidocs.Handler("/openapi.json")
	for _, group := range [][]route{s.systemRoutes(), s.customerRoutes(), s.batchRoutes(), s.listingRoutes(), s.eventRoutes(), s.pointsRoutes()} {
		s.routes = append(s.routes, group...)
	}
	for _, rt := range s.routes {
		s.register(rt)
	}
	s.mux.Handle("GET /docs/", s.docs) // the page's assets
	spec, err := s.openAPIDocument()
	if err != nil {
		return nil, err
	}
	s.spec = spec
	s.handler = s.observe(http.HandlerFunc(s.dispatch))
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) register(rt route) {
	serve := func(h handlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r); err != nil {
				s.writeError(w, r, err)
			}
		}
	}
	if rt.Public {
		s.mux.Handle(rt.Method+" "+rt.Path, serve(rt.handle))
		return
	}
	for _, base := range basePaths {
		s.mux.Handle(rt.Method+" "+base.prefix+rt.Path, serve(s.authenticate(rt.Secret || base.alwaysSecret, classOf(rt.Operation), rt.handle)))
	}
}

// dispatch routes a request, answering unknown paths and methods with the JSON error body.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, r, loyalty.Errorf(loyalty.CodeMethodNotAllowed, "method %s is not allowed here; allowed: %s",
			r.Method, strings.Join(allowed, ", ")))
		return
	}
	s.writeError(w, r, loyalty.Errorf(loyalty.CodeNotFound, "no endpoint at %s", r.URL.Path))
}

func (s *Server) openAPIDocument() ([]byte, error) {
	ops := make([]openapi.Operation, 0, len(s.routes))
	for _, rt := range s.routes {
		if rt.undocumented {
			continue
		}
		op := rt.Operation
		if !op.Public {
			op.Path = BasePath + op.Path
		}
		ops = append(ops, op)
	}
	spec, err := openapi.Document(openapi.Info{
		Title:   "Tally",
		Version: s.cfg.Version,
		Description: "Tally is a loyalty-points server that speaks the wire format of Gameball's v4.0 integrations API. " +
			"Every path is also served under /api/v4/integrations and /api/v4.1/integrations (v4.1 requires the secretkey header on every call).",
	}, ops)
	if err != nil {
		return nil, fmt.Errorf("httpapi: build OpenAPI document: %w", err)
	}
	return spec, nil
}

// systemRoutes are the routes for operators: health, readiness, metrics and the API description.
func (s *Server) systemRoutes() []route {
	public := func(path, summary string, response any, h handlerFunc) route {
		return route{Operation: openapi.Operation{Method: http.MethodGet, Path: path, Summary: summary,
			Tags: []string{"Operations"}, Public: true, Response: response}, handle: h}
	}
	type status struct {
		Status string `json:"status"`
	}
	metrics := promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
	return []route{
		public("/healthz", "The process is up", status{}, func(w http.ResponseWriter, r *http.Request) error {
			writeJSON(w, http.StatusOK, status{"ok"})
			return nil
		}),
		public("/readyz", "The database answers", status{}, func(w http.ResponseWriter, r *http.Request) error {
			if err := s.cfg.DB.Ping(r.Context()); err != nil {
				s.log.WarnContext(r.Context(), "not ready", "err", err)
				return loyalty.Errorf(loyalty.CodeUnavailable, "the database does not answer")
			}
			writeJSON(w, http.StatusOK, status{"ready"})
			return nil
		}),
		public("/metrics", "Prometheus metrics", nil, func(w http.ResponseWriter, r *http.Request) error {
			metrics.ServeHTTP(w, r)
			return nil
		}),
		public("/openapi.json", "This OpenAPI document", nil, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "application/json")
			_, err := w.Write(s.spec)
			return err
		}),
		public("/docs", "API documentation page", nil, func(w http.ResponseWriter, r *http.Request) error {
			s.docs.ServeHTTP(w, r)
			return nil
		}),
	}
}

// now is the engine's clock, for handlers that stamp times.
func (s *Server) now() time.Time { return s.cfg.Engine.Now() }
