package httpapi

import (
	"net/http"
	"strconv"

	"github.com/tally-loyalty/tally/internal/batch"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/openapi"
)

// batchRoutes are the batch endpoints: one submission route per batch type, and the routes that
// read and stop jobs, with the reference API's aliases. Every one needs the secret key.
func (s *Server) batchRoutes() []route {
	if s.cfg.Batches == nil {
		return nil
	}
	tags := []string{"Batches"}
	var routes []route
	for _, t := range s.cfg.Batches.Types() {
		routes = append(routes, route{
			Operation: op("POST", "/batch/"+t.Name, "Submit a batch: "+t.Operation, tags, true, t.Request(), batch.JobCreated{}),
			handle:    s.submitBatch(t.Name),
		})
	}
	list := op("GET", "/batch", "List the program's batch jobs, newest first", tags, true, nil, batch.JobsPage{})
	list.Query = append(pageParams(), openapi.Param{Name: "status", Description: "queued, running, completed, failed or stopped"},
		openapi.Param{Name: "type", Description: "A batch type, e.g. customers"})
	items := op("GET", "/batch/{jobId}/items", "Page through a batch job's items and results", tags, true, nil, batch.JobItemsPage{}, http.StatusNotFound)
	items.Query = append(pageParams(), openapi.Param{Name: "status", Description: "pending, succeeded, failed or stopped"})
	// A submission of a type that does not exist would otherwise be a 405 (GET /batch/{jobId}
	// matches its path); it gets Submit's 404 instead, which Submit gives before it looks at a body.
	unknown := route{Operation: op("POST", "/batch/{type}", "Submit a batch of a type there is none of", tags, true, nil, nil, http.StatusNotFound),
		handle: func(w http.ResponseWriter, r *http.Request) error {
			_, err := s.cfg.Batches.Submit(r.Context(), tenantOf(r).ID, r.PathValue("type"), nil, "")
			return err
		}, undocumented: true}
	return append(routes, unknown,
		route{Operation: list, handle: s.listBatches},
		route{Operation: op("GET", "/batch/{jobId}", "Get a batch job's status and results", tags, true, nil, batch.Job{}, http.StatusNotFound),
			handle: s.getBatch("jobId")},
		route{Operation: items, handle: s.batchItems},
		route{Operation: op("DELETE", "/batch/{jobId}", "Stop a batch job", tags, true, nil, batch.Job{}, http.StatusNotFound),
			handle: s.stopBatch("jobId")},
		route{Operation: op("GET", "/batches/{batchId}/status", "Get a batch job's status and results (alias)", tags, true, nil, batch.Job{}, http.StatusNotFound),
			handle: s.getBatch("batchId")},
		route{Operation: op("POST", "/batches/{batchId}/stop", "Stop a batch job (alias)", tags, true, nil, batch.Job{}, http.StatusNotFound),
			handle: s.stopBatch("batchId")},
	)
}

func (s *Server) submitBatch(typeName string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		data, err := readBody(r)
		if err != nil {
			return err
		}
		created, err := s.cfg.Batches.Submit(r.Context(), tenantOf(r).ID, typeName, data, r.Header.Get("Idempotency-Key"))
		if e, ok := loyalty.AsError(err); ok && e.Code == loyalty.CodeTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int(batch.RetryAfter.Seconds())))
		}
		if err != nil {
			return err
		}
		created.Link = BasePath + "/batch/" + strconv.FormatInt(created.JobID, 10)
		writeJSON(w, http.StatusOK, created)
		return nil
	}
}

func (s *Server) getBatch(param string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := batch.ParseJobID(r.PathValue(param))
		if err != nil {
			return err
		}
		job, err := s.cfg.Batches.Get(r.Context(), tenantOf(r).ID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, job)
		return nil
	}
}

func (s *Server) stopBatch(param string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := batch.ParseJobID(r.PathValue(param))
		if err != nil {
			return err
		}
		job, err := s.cfg.Batches.StopJob(r.Context(), tenantOf(r).ID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, job)
		return nil
	}
}

func (s *Server) batchItems(w http.ResponseWriter, r *http.Request) error {
	id, err := batch.ParseJobID(r.PathValue("jobId"))
	if err != nil {
		return err
	}
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	page, err := s.cfg.Batches.Items(r.Context(), tenantOf(r).ID, id, r.URL.Query().Get("status"),
		batch.Page{Limit: p.Limit, StartAfter: p.StartAfter})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) listBatches(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.cfg.Batches.List(r.Context(), tenantOf(r).ID, batch.ListFilter{Status: q.Get("status"), Type: q.Get("type")},
		batch.Page{Limit: p.Limit, StartAfter: p.StartAfter})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
