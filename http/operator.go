package http

import (
	"net/http"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// createResellerRequest is the body of POST /v1/resellers.
type createResellerRequest struct {
	Name string `json:"name"`
}

// handleResellerCreate registers a reseller (operator).
func (s *Server) handleResellerCreate(w http.ResponseWriter, r *http.Request) {
	req := body[createResellerRequest](r)
	rs, res, err := s.cfg.Commands.RegisterReseller(r.Context(), createMeta(r), req.Name)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	writeJSON(w, http.StatusCreated, resellerJSON{ID: rs.ID(), Name: rs.Name(), Version: res.Version})
}

// createTokenRequest is the body of POST /v1/tokens.
type createTokenRequest struct {
	Role   string `json:"role"`
	Tenant string `json:"tenant"`
	// Name is the holder's display name, recorded as actor.name.
	Name string `json:"name"`
	// TTLSeconds, when set, is how long the token lives.
	TTLSeconds *int64 `json:"ttl_seconds"`
}

// handleTokenCreate issues a token (operator). The token is in this response
// only; the log records its hash.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	req := body[createTokenRequest](r)
	spec := domain.TokenSpec{ID: s.cfg.NewID(), Role: domain.Role(req.Role), Tenant: req.Tenant, Name: req.Name}
	if req.TTLSeconds != nil {
		if *req.TTLSeconds < 1 || *req.TTLSeconds > int64(domain.MaxTokenTTL/time.Second) {
			s.Error(w, r, domain.Invalid("ttl_seconds", "ttl_seconds must be between 1 and %d", int64(domain.MaxTokenTTL/time.Second)))
			return
		}
		spec.TTL = time.Duration(*req.TTLSeconds) * time.Second
	}
	token, hash := NewToken()
	spec.Hash = hash
	res, err := s.cfg.Commands.IssueToken(r.Context(), createMeta(r), spec)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	out := tokenJSON{ID: spec.ID, Token: token, Role: spec.Role, Tenant: spec.Tenant}
	for _, e := range res.Events {
		if ev, ok := e.(*domain.TokenIssued); ok {
			out.ExpiresAt = utcPtr(ev.ExpiresAt)
			if ev.Name != "" {
				out.Name = &ev.Name
			}
		}
	}
	setCommandHeaders(w, res, false)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
}
