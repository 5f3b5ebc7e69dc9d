package aggregator

import (
	"net/http"

	"github.com/wisp-project/wisp/internal/api"
)

// handleWhoAmI tells a client (the dashboard) its token's role and tenant,
// so it need not probe operator routes to find out.
func (s *Server) handleWhoAmI(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	writeJSON(w, http.StatusOK, api.WhoAmI{Role: p.Role, Tenant: p.Tenant, Name: p.Name})
}

// handlePolicy publishes the operator's campaign limits and epoch rules.
func (s *Server) handlePolicy(w http.ResponseWriter, r *http.Request) {
	p := s.policy
	writeJSON(w, http.StatusOK, api.Policy{MaxEpsilon: p.MaxEpsilon, MinEpochSeconds: p.MinEpochSeconds, MaxEpochSeconds: p.MaxEpochSeconds,
		MinK: p.MinK, ClockSkewSeconds: int64(p.ClockSkew.Seconds()), GraceSeconds: int64(p.Grace.Seconds()),
		SensitiveCategories: append([]uint32{}, p.SensitiveCategories...), RequireReportTokens: p.RequireReportTokens})
}
