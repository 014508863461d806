package httpapi

import (
	"net/http"

	"github.com/tally-loyalty/tally/internal/openapi"
)

// op describes an authenticated API route; every one of them may also answer 400, 401, 413, 422 and
// 429 with the error body, and lists its own further statuses in errs.
func op(method, path, summary string, tags []string, secret bool, request, response any, errs ...int) openapi.Operation {
	common := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge,
		http.StatusUnprocessableEntity, http.StatusTooManyRequests}
	return openapi.Operation{Method: method, Path: path, Summary: summary, Tags: tags, Secret: secret,
		Request: request, Response: response, Errors: append(common, errs...)}
}
