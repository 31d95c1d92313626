package http

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// createProductRequest is the body of POST /v1/products.
type createProductRequest struct {
	Name               string `json:"name"`
	Kind               string `json:"kind"`
	LicenseTermsMonths []int  `json:"license_terms_months"`
}

// handleProductCreate adds a product to the reseller's catalog.
func (s *Server) handleProductCreate(w http.ResponseWriter, r *http.Request) {
	var req createProductRequest
	if err := decode(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	p, res, err := s.cfg.Commands.AddProduct(r.Context(), createMeta(r), req.Name, domain.ProductKind(req.Kind), req.LicenseTermsMonths)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.Header().Set("Location", "/v1/products/"+string(p.ID()))
	writeJSON(w, http.StatusCreated, productJSON{ID: p.ID(), Name: p.Name(), Kind: p.Kind(), LicenseTermsMonths: p.Terms(), Version: res.Version})
}

// handleProductList lists the reseller's products by name; ?q= searches.
func (s *Server) handleProductList(w http.ResponseWriter, r *http.Request) {
	page, err := s.queryPage(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	reseller := domain.ResellerID(identity(r).Tenant)
	p, err := s.cfg.Queries.Products(r.Context(), reseller, r.URL.Query().Get("q"), page)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(p, productFromRecord))
}

// handleProductGet returns one product of the reseller.
func (s *Server) handleProductGet(w http.ResponseWriter, r *http.Request) {
	invalid, err := deferInvalid(s.catchUp(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	if !validID(id) {
		s.Error(w, r, domain.ErrProductNotFound)
		return
	}
	p, err := s.cfg.Queries.Product(r.Context(), domain.ResellerID(identity(r).Tenant), domain.ProductID(id))
	if err == nil {
		err = invalid
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setETag(w, p.Version)
	writeJSON(w, http.StatusOK, productFromRecord(p))
}
