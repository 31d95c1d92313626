package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// createOfferRequest is the body of POST /v1/customers/{id}/offers.
type createOfferRequest struct {
	TemplateID string  `json:"template_id"`
	Message    string  `json:"message"`
	ExpiresAt  *string `json:"expires_at"`
}

// handleOfferCreate sends an offer built from a template to a customer of
// the reseller: 202, as delivery happens in the background.
func (s *Server) handleOfferCreate(w http.ResponseWriter, r *http.Request) {
	var req createOfferRequest
	derr := decode(w, r, &req)
	if derr != nil && !isCode(derr, domain.EINVALID) {
		s.Error(w, r, derr)
		return
	}
	id := chi.URLParam(r, "id")
	if !validID(id) {
		s.Error(w, r, domain.ErrCustomerNotFound)
		return
	}
	var expiresAt *time.Time
	if derr == nil && req.ExpiresAt != nil {
		t, err := parseTime("expires_at", *req.ExpiresAt)
		if err != nil {
			derr = err
		}
		expiresAt = &t
	}
	if derr != nil {
		// The customer in the path is answered before the body (404 before 422).
		c, _, err := s.cfg.Commands.Customer(r.Context(), domain.CustomerID(id))
		if err == nil && string(c.Reseller()) != identity(r).Tenant {
			err = domain.ErrCustomerNotFound
		}
		if err != nil {
			s.Error(w, r, err)
			return
		}
		s.Error(w, r, derr)
		return
	}
	o, res, err := s.cfg.Commands.CreateOffer(r.Context(), createMeta(r), domain.CustomerID(id), domain.TemplateID(req.TemplateID), req.Message, expiresAt)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.Header().Set("Location", "/v1/offers/"+string(o.ID()))
	writeJSON(w, http.StatusAccepted, offerFromView(o.View(), res.Version, viewerOf(r)))
}

// handleOfferList lists offers newest first: the reseller's own, an
// auditor's reseller's (every reseller's for tenant "*"), filtered by
// ?customer_id= and ?status=; with ?as_of= as they stood then.
func (s *Server) handleOfferList(w http.ResponseWriter, r *http.Request) {
	reads, page, release, err := s.listReads(w, r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	defer release()
	q := r.URL.Query()
	f := domain.OfferFilter{Reseller: resellerScope(identity(r)), Customer: domain.CustomerID(q.Get("customer_id")), Page: page}
	if st := q.Get("status"); st != "" {
		if f.Status, err = domain.ParseOfferStatus(st); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	if f.Customer != "" && !validID(string(f.Customer)) {
		// No customer has such an id, so no offer is its.
		writeJSON(w, http.StatusOK, list[offerJSON]{Items: []offerJSON{}})
		return
	}
	p, err := reads.Offers(r.Context(), f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(p, viewerOf(r).offerFromRecord))
}

// resellerScope is the reseller whose offers the caller lists, as
// domain.ScopeOf says: its own, or every reseller's ("") for a scope that
// sees all. The route admits resellers and auditors only, whose scope is
// never one customer's.
func resellerScope(id Identity) domain.ResellerID { return domain.ScopeOf(id).Reseller }

// handleOfferGet returns an offer from its stream: as it stands, or with
// ?as_of_version=N or ?as_of=<RFC 3339> as it stood then.
func (s *Server) handleOfferGet(w http.ResponseWriter, r *http.Request) {
	invalid, err := deferInvalid(s.catchUp(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	var asOfVersion uint64
	var asOf time.Time
	if v := q.Get("as_of_version"); v != "" && invalid == nil {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			invalid = domain.Invalid("as_of_version", "as_of_version must be a positive integer")
		}
		asOfVersion = n
	}
	if v := q.Get("as_of"); v != "" && invalid == nil {
		asOf, invalid = parseTime("as_of", v)
	}
	id := chi.URLParam(r, "id")
	if !validID(id) {
		s.Error(w, r, domain.ErrOfferNotFound)
		return
	}
	if invalid != nil {
		// An offer the caller cannot see is answered before the parameters.
		if _, _, err := s.cfg.Commands.Offer(r.Context(), identity(r), domain.OfferID(id), 0, time.Time{}); err != nil {
			s.Error(w, r, err)
			return
		}
		s.Error(w, r, invalid)
		return
	}
	o, v, err := s.cfg.Commands.Offer(r.Context(), identity(r), domain.OfferID(id), asOfVersion, asOf)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setETag(w, v)
	who := viewerOf(r)
	if asOfVersion != 0 || !asOf.IsZero() {
		// A past state offers no action: commands act on the offer as it
		// stands now.
		who = viewer{}
	}
	writeJSON(w, http.StatusOK, offerFromView(o.View(), v, who))
}

// offerCommand is a command on one offer named in the path.
type offerCommand func(s *Server, r *http.Request, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error)

// runOfferCommand decodes an empty body, runs cmd on the offer of the path
// and answers the offer, 200.
func (s *Server) runOfferCommand(w http.ResponseWriter, r *http.Request, param string, cmd offerCommand) {
	if err := decode(w, r, &struct{}{}); err != nil {
		s.Error(w, r, err)
		return
	}
	id := chi.URLParam(r, param)
	if !validID(id) {
		s.Error(w, r, domain.ErrOfferNotFound)
		return
	}
	o, res, err := cmd(s, r, meta(r), domain.OfferID(id))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	writeJSON(w, http.StatusOK, offerFromView(o.View(), res.Version, viewerOf(r)))
}

// handleOfferWithdraw withdraws an offer of the reseller.
func (s *Server) handleOfferWithdraw(w http.ResponseWriter, r *http.Request) {
	s.runOfferCommand(w, r, "id", func(s *Server, r *http.Request, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error) {
		return s.cfg.Commands.WithdrawOffer(r.Context(), m, id)
	})
}

// handleOfferRedeliver starts delivery of an offer over after it failed.
func (s *Server) handleOfferRedeliver(w http.ResponseWriter, r *http.Request) {
	s.runOfferCommand(w, r, "id", func(s *Server, r *http.Request, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error) {
		return s.cfg.Commands.RedeliverOffer(r.Context(), m, id)
	})
}

// reviseOfferRequest is the body of POST /v1/offers/{id}/revise: every
// field is optional and keeps the old offer's value when absent (or null).
type reviseOfferRequest struct {
	TemplateID *string `json:"template_id"`
	Message    *string `json:"message"`
	ExpiresAt  *string `json:"expires_at"`
}

// handleOfferRevise replaces an undecided offer of the reseller with a new
// one: 202 with the successor, which is delivered in the background.
func (s *Server) handleOfferRevise(w http.ResponseWriter, r *http.Request) {
	var req reviseOfferRequest
	derr := decode(w, r, &req)
	if derr != nil && !isCode(derr, domain.EINVALID) {
		s.Error(w, r, derr)
		return
	}
	id := chi.URLParam(r, "id")
	if !validID(id) {
		s.Error(w, r, domain.ErrOfferNotFound)
		return
	}
	var rev command.Revision
	if derr == nil {
		rev.Message = req.Message
		if req.TemplateID != nil {
			if *req.TemplateID == "" {
				derr = domain.Invalid("template_id", "template_id must name a template when given")
			}
			rev.TemplateID = domain.TemplateID(*req.TemplateID)
		}
		if req.ExpiresAt != nil && derr == nil {
			t, err := parseTime("expires_at", *req.ExpiresAt)
			derr, rev.ExpiresAt = err, &t
		}
	}
	if derr != nil {
		s.badOfferBody(w, r, domain.OfferID(id), derr)
		return
	}
	o, res, err := s.cfg.Commands.ReviseOffer(r.Context(), meta(r), domain.OfferID(id), rev)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.Header().Set("Location", "/v1/offers/"+string(o.ID()))
	writeJSON(w, http.StatusAccepted, offerFromView(o.View(), res.Version, viewerOf(r)))
}

// badOfferBody answers derr, a body a command on offer id cannot use; but an
// offer the caller cannot see is answered first, as the contract orders them
// (404 before 422).
func (s *Server) badOfferBody(w http.ResponseWriter, r *http.Request, id domain.OfferID, derr error) {
	if _, _, err := s.cfg.Commands.Offer(r.Context(), identity(r), id, 0, time.Time{}); err != nil {
		s.Error(w, r, err)
		return
	}
	s.Error(w, r, derr)
}
