package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/tally-loyalty/tally/internal/keys"
	"github.com/tally-loyalty/tally/internal/loyalty"
	"github.com/tally-loyalty/tally/internal/store"
)

// tenantOf returns the tenant that authenticated the request.
func tenantOf(r *http.Request) loyalty.Tenant {
	t, _ := r.Context().Value(tenantKey).(loyalty.Tenant)
	return t
}

// authenticate is the one place where keys are checked. The apikey header names the tenant; the
// secretkey header, where given, must be that tenant's, and it is required when needSecret is set.
// An unknown API key and a wrong secret key get the same answer, so a caller cannot tell which was
// wrong.
func (s *Server) authenticate(needSecret bool, next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		unauthorized := loyalty.Errorf(loyalty.CodeUnauthorized, "the apikey or secretkey is not valid")
		apiKey := r.Header.Get("apikey")
		if apiKey == "" {
			return loyalty.Errorf(loyalty.CodeUnauthorized, "the apikey header is required")
		}
		var auth store.TenantAuth
		err := s.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
			var err error
			auth, err = tx.TenantByAPIKey(r.Context(), keys.Hash(apiKey))
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return unauthorized
		}
		if err != nil {
			return err
		}
		secret := r.Header.Get("secretkey")
		switch {
		case secret != "" && !keys.Matches(secret, auth.SecretKeyHash):
			return unauthorized
		case secret == "" && needSecret:
			return loyalty.Errorf(loyalty.CodeSecretKeyRequired, "this endpoint requires the secretkey header")
		}
		ctx := context.WithValue(r.Context(), tenantKey, auth.Tenant)
		return next(w, r.WithContext(ctx))
	}
}
