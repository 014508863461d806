package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tally-loyalty/tally/client"
)

// batchAPI is what an import needs of the server. clientAPI provides it over HTTP; the unit tests
// provide a fake.
type batchAPI interface {
	// submit sends a batch and returns its job's id; the same key with the same items returns the
	// job that the first submission created.
	submit(ctx context.Context, batchType string, items []json.RawMessage, key string) (int64, error)
	// failures waits until the job has ended and returns why each item that did not apply failed,
	// by the item's index in the batch.
	failures(ctx context.Context, jobID int64) (map[int]Failure, error)
}

// rejection returns the failure of a request that the server refused for what it carried (a 4xx
// answer other than 401, 403 and 429): the rows it carried fail, the import goes on. Any other error
// stops the import.
func rejection(err error) (Failure, bool) {
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode < 400 || e.StatusCode >= 500 {
		return Failure{}, false
	}
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return Failure{}, false
	}
	return Failure{Code: e.Code, Message: e.Message}, true
}
