package transfer

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tally-loyalty/tally/client"
)

func TestRetry(t *testing.T) {
	ctx := context.Background()
	t.Run("waits as long as the server asks", func(t *testing.T) {
		calls := 0
		v, err := retry(ctx, func() (int, error) {
			if calls++; calls < 3 {
				return 0, &client.Error{StatusCode: http.StatusTooManyRequests, RetryAfter: time.Millisecond}
			}
			return 7, nil
		})
		if v != 7 || err != nil || calls != 3 {
			t.Fatalf("%d %v after %d calls", v, err, calls)
		}
	})
	t.Run("a refusal is final", func(t *testing.T) {
		calls := 0
		_, err := retry(ctx, func() (int, error) {
			calls++
			return 0, &client.Error{StatusCode: http.StatusUnprocessableEntity, Code: 3003}
		})
		if err == nil || calls != 1 {
			t.Fatalf("%v after %d calls", err, calls)
		}
	})
	t.Run("an ended context stops it", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		calls := 0
		_, err := retry(ctx, func() (int, error) {
			calls++
			cancel()
			return 0, &client.Error{StatusCode: http.StatusServiceUnavailable}
		})
		if err == nil || calls != 1 {
			t.Fatalf("%v after %d calls", err, calls)
		}
	})
}

func TestItemFailure(t *testing.T) {
	failed := itemFailure(client.BatchItem{Index: 17, Status: "failed",
		Result: &client.BatchResult{Index: 17, Code: 3003, Message: "body[17].orderDate: must be a time"}})
	if failed != (Failure{Code: 3003, Message: "orderDate: must be a time"}) {
		t.Fatalf("failed item: %+v", failed)
	}
	if stopped := itemFailure(client.BatchItem{Index: 3, Status: "stopped"}); stopped.Code != 4000 {
		t.Fatalf("stopped item: %+v", stopped)
	}
}
