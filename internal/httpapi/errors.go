package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/tally-loyalty/tally/internal/loyalty"
)

// errorBody is the body of every non-2xx response.
type errorBody struct {
	Code      loyalty.Code         `json:"code"`
	Type      string               `json:"type"`
	Message   string               `json:"message"`
	RequestID string               `json:"requestId"`
	Errors    []loyalty.FieldError `json:"errors,omitempty"`
}

// errBodyTooLarge marks a request whose body passed the byte limit: code 3011 like other limits, but
// HTTP 413.
var errBodyTooLarge = errors.New("request body too large")

// statusOf is the one place where an error code becomes an HTTP status.
func statusOf(err error, code loyalty.Code) int {
	if errors.Is(err, errBodyTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	switch code {
	case loyalty.CodeUnauthorized, loyalty.CodeSecretKeyRequired:
		return http.StatusUnauthorized
	case loyalty.CodeMissingArguments, loyalty.CodeInvalidPayload, loyalty.CodeFailed:
		return http.StatusBadRequest
	case loyalty.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case loyalty.CodeNotFound, loyalty.CodeCustomerNotFound, loyalty.CodeTransactionUnknown, loyalty.CodeHoldNotFound,
		loyalty.CodeReversedNotFound:
		return http.StatusNotFound
	case loyalty.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case loyalty.CodeTooManyRequests:
		return http.StatusTooManyRequests
	case loyalty.CodeInternal:
		return http.StatusInternalServerError
	case loyalty.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}

// writeError answers with the error body for err. An error that is not a *loyalty.Error is a fault
// of the server: it is logged with the request id and the client sees only a 5000.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := loyalty.AsError(err)
	switch {
	case ok:
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e = loyalty.Errorf(loyalty.CodeUnavailable, "the request was cancelled or timed out")
	default:
		s.log.ErrorContext(r.Context(), "request failed", "err", err, "requestId", requestID(r.Context()))
		e = loyalty.Errorf(loyalty.CodeInternal, "internal server error")
	}
	writeJSON(w, statusOf(err, e.Code), errorBody{
		Code: e.Code, Type: e.Code.Type(), Message: e.Message, RequestID: requestID(r.Context()), Errors: e.Fields,
	})
}

// logLevelFor keeps client mistakes out of the error log.
func logLevelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
