package http

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// createCustomerRequest is the body of POST /v1/customers.
type createCustomerRequest struct {
	Name        string `json:"name"`
	ExternalRef string `json:"external_ref"`
}

// handleCustomerCreate registers a customer instance of the reseller.
func (s *Server) handleCustomerCreate(w http.ResponseWriter, r *http.Request) {
	var req createCustomerRequest
	if err := decode(w, r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	c, res, err := s.cfg.Commands.RegisterCustomer(r.Context(), createMeta(r), req.Name, req.ExternalRef)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.Header().Set("Location", "/v1/customers/"+string(c.ID()))
	name := c.Name()
	writeJSON(w, http.StatusCreated, customerJSON{ID: c.ID(), Name: &name, ExternalRef: optString(c.ExternalRef()),
		OfferCounts: offerCounts(nil), Version: res.Version})
}

// handleCustomerList lists the reseller's customers by name, each with its
// offer counts.
func (s *Server) handleCustomerList(w http.ResponseWriter, r *http.Request) {
	page, err := s.queryPage(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p, err := s.cfg.Queries.Customers(r.Context(), domain.ResellerID(identity(r).Tenant), page)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(p, customerFromRecord))
}

// handleCustomerGet returns one customer with its offer counts and its
// offers, newest first (the first page; ?limit= and ?cursor= page them);
// with ?as_of= as they stood then.
func (s *Server) handleCustomerGet(w http.ResponseWriter, r *http.Request) {
	reads, release, err := s.readModels(w, r)
	asOfInvalid, err := deferInvalid(err)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if asOfInvalid != nil {
		// A customer that is not the reseller's is answered 404 before a bad
		// as_of (422): look for it in the live read models.
		reads, release = s.cfg.Queries, func() {}
	}
	defer release()
	page, err := pageRequest(r)
	id, page, invalid, ok := s.pathPage(w, r, domain.ErrCustomerNotFound, page, err)
	if !ok {
		return
	}
	if invalid == nil {
		invalid = asOfInvalid
	}
	// The offers are read first, as a bad cursor (400) is answered before a
	// customer that is not the reseller's (404); the filter keeps them to
	// the reseller's own, so another reseller's customer has none.
	reseller := domain.ResellerID(identity(r).Tenant)
	offers, err := reads.Offers(r.Context(), domain.OfferFilter{Reseller: reseller, Customer: domain.CustomerID(id), Page: page})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	c, err := reads.Customer(r.Context(), reseller, domain.CustomerID(id))
	if err == nil {
		err = invalid
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	l := newList(offers, viewerOf(r).offerFromRecord)
	setETag(w, c.Version)
	writeJSON(w, http.StatusOK, customerDetailJSON{customerJSON: customerFromRecord(c), Offers: l.Items, OffersNextCursor: l.NextCursor})
}

// erasedJSON answers an erasure.
type erasedJSON struct {
	ID       domain.CustomerID `json:"id"`
	ErasedAt time.Time         `json:"erased_at"`
}

// handleCustomerErase erases a customer's texts (its name and reference,
// its offers' messages, its rejection reasons): a reseller its own
// customer, the operator any. Repeating it answers the first erasure.
func (s *Server) handleCustomerErase(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	at, res, err := s.cfg.Commands.EraseCustomer(r.Context(), meta(r), domain.CustomerID(id))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	writeJSON(w, http.StatusOK, erasedJSON{ID: domain.CustomerID(id), ErasedAt: at.UTC()})
}
