package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tally-loyalty/tally/internal/engine"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/openapi"
	"github.com/tally-loyalty/tally/internal/store"
)

// writeJSON writes v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client has gone if this fails; nothing is left to tell it
}

// readBody reads the request body within the server's byte limit.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errors.Join(errBodyTooLarge, loyalty.Errorf(loyalty.CodeLimitExceeded,
			"the request body is larger than %d bytes", tooLarge.Limit))
	}
	if err != nil {
		return nil, loyalty.Errorf(loyalty.CodeInvalidPayload, "the request body could not be read")
	}
	return data, nil
}

// decodeBody reads and decodes the JSON request body into v.
func decodeBody(r *http.Request, v any) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return loyalty.DecodeJSON(data, v)
}

// Page is a cursor page request: at most Limit rows after the cursor StartAfter.
type Page struct {
	Limit      int
	StartAfter string
}

// Paging limits of every list endpoint.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// pageOf reads `limit` and `startAfter` from the query string.
func pageOf(r *http.Request) (Page, error) {
	p := Page{Limit: DefaultPageSize, StartAfter: r.URL.Query().Get("startAfter")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "limit", "must be an integer from 1 to %d", MaxPageSize)
		}
		p.Limit = n
	}
	if len(p.StartAfter) > 512 {
		return p, loyalty.FieldErrorf(loyalty.CodeInvalidValue, "startAfter", "is not a cursor this server made")
	}
	return p, nil
}

// writeOp serves an endpoint whose JSON body is the request of one engine operation: it decodes the
// body, runs the operation in a write transaction and answers 200 with its result.
func writeOp[Req, Res any](s *Server, op engine.Op[Req, Res]) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req Req
		if err := decodeBody(r, &req); err != nil {
			return err
		}
		var res Res
		err := s.cfg.DB.Write(r.Context(), func(tx *store.Tx) error {
			var err error
			res, err = op(r.Context(), tx, tenantOf(r).ID, &req)
			return err
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	}
}

// pageParams are the query parameters of every list endpoint, for the OpenAPI document.
func pageParams() []openapi.Param {
	return []openapi.Param{
		{Name: "limit", Type: "integer", Description: "Page size, 1 to 200 (default 50)."},
		{Name: "startAfter", Description: "The nextCursor of the previous page."},
	}
}
