package http

import (
	"net/http"

	"github.com/offerflow/offerflow/domain"
)

// createResellerRequest is the body of POST /v1/resellers.
type createResellerRequest struct {
	Name string `json:"name"`
}

// handleResellerCreate registers a reseller (operator).
func (s *Server) handleResellerCreate(w http.ResponseWriter, r *http.Request) {
	var req createResellerRequest
	if err := decode(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
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
}

// handleTokenCreate issues a token (operator). The token is in this response
// only; the log records its hash.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var req createTokenRequest
	if err := decode(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	id := s.cfg.NewID()
	token, hash := NewToken()
	res, err := s.cfg.Commands.IssueToken(r.Context(), createMeta(r), id, hash, domain.Role(req.Role), req.Tenant)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, false)
	writeJSON(w, http.StatusCreated, tokenJSON{ID: id, Token: token, Role: domain.Role(req.Role), Tenant: req.Tenant})
}
