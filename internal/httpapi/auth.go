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

// authenticate guards a route: a source that failed authentication too often lately is turned away
// before its keys are looked at, the keys are checked, and the tenant's rate limit for the route's
// class is applied.
func (s *Server) authenticate(needSecret bool, class rateClass, next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.limits.checkSource(w, r); err != nil {
			return err
		}
		tenant, err := s.checkKeys(r, needSecret)
		if e, ok := loyalty.AsError(err); ok && e.Code == loyalty.CodeUnauthorized {
			s.limits.authFailed(r)
		}
		if err != nil {
			return err
		}
		if err := s.limits.take(w, tenant.ID, class); err != nil {
			return err
		}
		return next(w, r.WithContext(context.WithValue(r.Context(), tenantKey, tenant)))
	}
}

// checkKeys is the one place where keys are checked. The apikey header names the tenant; the
// secretkey header, where given, must be that tenant's, and it is required when needSecret is set.
// An unknown API key and a wrong secret key get the same answer, so a caller cannot tell which was
// wrong.
func (s *Server) checkKeys(r *http.Request, needSecret bool) (loyalty.Tenant, error) {
	unauthorized := loyalty.Errorf(loyalty.CodeUnauthorized, "the apikey or secretkey is not valid")
	apiKey := r.Header.Get("apikey")
	if apiKey == "" {
		return loyalty.Tenant{}, loyalty.Errorf(loyalty.CodeUnauthorized, "the apikey header is required")
	}
	var auth store.TenantAuth
	err := s.cfg.DB.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		auth, err = tx.TenantByAPIKey(r.Context(), keys.Hash(apiKey))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return loyalty.Tenant{}, unauthorized
	}
	if err != nil {
		return loyalty.Tenant{}, err
	}
	secret := r.Header.Get("secretkey")
	switch {
	case secret != "" && !keys.Matches(secret, auth.SecretKeyHash):
		return loyalty.Tenant{}, unauthorized
	case secret == "" && needSecret:
		return loyalty.Tenant{}, loyalty.Errorf(loyalty.CodeSecretKeyRequired, "this endpoint requires the secretkey header")
	}
	return auth.Tenant, nil
}
