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
	req := body[createCustomerRequest](r)
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
	if err != nil {
		s.Error(w, r, err)
		return
	}
	defer release()
	page, err := pageRequest(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	c, err := readCustomer(r, reads, page)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	l := newList(c.offers, s.viewerOf(r).offerFromRecord)
	setETag(w, c.record.Version)
	writeJSON(w, http.StatusOK, customerDetailJSON{customerJSON: customerFromRecord(c.record), Offers: l.Items, OffersNextCursor: l.NextCursor})
}

// customerWithOffers is a customer and a page of its offers.
type customerWithOffers struct {
	record domain.CustomerRecord
	offers domain.Page[domain.OfferRecord]
}

// readCustomer reads the reseller's customer of the path and a page of its
// offers from reads. The offers are read first, as a bad cursor (400) is
// answered before a customer that is not the reseller's (404); the filter
// keeps them to the reseller's own, so another reseller's customer has none.
func readCustomer(r *http.Request, reads Queries, page domain.PageRequest) (customerWithOffers, error) {
	reseller, id := domain.ResellerID(identity(r).Tenant), domain.CustomerID(chi.URLParam(r, "id"))
	offers, err := reads.Offers(r.Context(), domain.OfferFilter{Reseller: reseller, Customer: id, Page: page})
	if err != nil {
		return customerWithOffers{}, err
	}
	c, err := reads.Customer(r.Context(), reseller, id)
	return customerWithOffers{c, offers}, err
}

// customerRecordPath is the reseller's customer that a query's path names,
// looked up in the live read models with the request's cursor.
var customerRecordPath = &pathResource{
	params: customerPath.params,
	find: func(s *Server, r *http.Request) (any, error) {
		return readCustomer(r, s.cfg.Queries, lookupPage(r))
	},
}

// customerPath is the reseller's customer that a command's path names.
var customerPath = &pathResource{
	params: []pathID{{"id", domain.ErrCustomerNotFound}},
	find: func(s *Server, r *http.Request) (any, error) {
		c, _, err := s.cfg.Commands.Customer(r.Context(), domain.CustomerID(chi.URLParam(r, "id")))
		if err == nil && string(c.Reseller()) != identity(r).Tenant {
			return nil, domain.ErrCustomerNotFound
		}
		return c, err
	},
}

// erasablePath is the customer that an erasure's path names: the command
// alone can tell whether the caller may erase it (the operator may erase
// any customer).
var erasablePath = &pathResource{params: customerPath.params}

// erasedJSON answers an erasure.
type erasedJSON struct {
	ID       domain.CustomerID `json:"id"`
	ErasedAt time.Time         `json:"erased_at"`
}

// handleCustomerErase erases a customer's texts (its name and reference,
// its offers' messages, its rejection reasons): a reseller its own
// customer, the operator any. Repeating it answers the first erasure.
func (s *Server) handleCustomerErase(w http.ResponseWriter, r *http.Request) {
	id := domain.CustomerID(chi.URLParam(r, "id"))
	at, res, err := s.cfg.Commands.EraseCustomer(r.Context(), meta(r), id)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	writeJSON(w, http.StatusOK, erasedJSON{ID: id, ErasedAt: at.UTC()})
}
