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
	req := body[createProductRequest](r)
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
	serveResource(s, w, r, func(p domain.ProductRecord) uint64 { return p.Version }, productFromRecord)
}

// productPath is the product of the reseller that a path names.
var productPath = &pathResource{
	params: []pathID{{"id", domain.ErrProductNotFound}},
	find: func(s *Server, r *http.Request) (any, error) {
		return s.cfg.Queries.Product(r.Context(), domain.ResellerID(identity(r).Tenant), domain.ProductID(chi.URLParam(r, "id")))
	},
}
