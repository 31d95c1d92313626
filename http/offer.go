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

	expiresAt *time.Time
}

func (q *createOfferRequest) check() (err error) {
	q.expiresAt, err = optionalTime("expires_at", q.ExpiresAt)
	return err
}

// handleOfferCreate sends an offer built from a template to a customer of
// the reseller: 202, as delivery happens in the background.
func (s *Server) handleOfferCreate(w http.ResponseWriter, r *http.Request) {
	req := body[createOfferRequest](r)
	o, res, err := s.cfg.Commands.CreateOffer(r.Context(), createMeta(r), domain.CustomerID(chi.URLParam(r, "id")), domain.TemplateID(req.TemplateID), req.Message, req.expiresAt)
	s.answerNewOffer(w, r, o, res, err)
}

// answerNewOffer answers a command that made an offer (create, revise):
// 202, as delivery happens in the background.
func (s *Server) answerNewOffer(w http.ResponseWriter, r *http.Request, o *domain.Offer, res command.Result, err error) {
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.Header().Set("Location", "/v1/offers/"+string(o.ID()))
	writeJSON(w, http.StatusAccepted, offerFromView(o.View(), res.Version, s.viewerOf(r)))
}

// offerPath is the offer a path names in param, as the caller may see it
// (domain.Offer.VisibleTo).
func offerPath(param string) *pathResource {
	return &pathResource{
		params: []pathID{{param, domain.ErrOfferNotFound}},
		find: func(s *Server, r *http.Request) (any, error) {
			o, _, err := s.cfg.Commands.Offer(r.Context(), identity(r), domain.OfferID(chi.URLParam(r, param)), 0, time.Time{})
			return o, err
		},
	}
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
	writeJSON(w, http.StatusOK, newList(p, s.viewerOf(r).offerFromRecord))
}

// resellerScope is the reseller whose offers the caller lists, as
// domain.ScopeOf says: its own, or every reseller's ("") for a scope that
// sees all. The route admits resellers and auditors only, whose scope is
// never one customer's.
func resellerScope(id Identity) domain.ResellerID { return domain.ScopeOf(id).Reseller }

// handleOfferGet returns an offer from its stream: as it stands, or with
// ?as_of_version=N or ?as_of=<RFC 3339> as it stood then.
func (s *Server) handleOfferGet(w http.ResponseWriter, r *http.Request) {
	asOfVersion, asOf, err := s.offerAsOf(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	o, v, err := s.cfg.Commands.Offer(r.Context(), identity(r), domain.OfferID(chi.URLParam(r, "id")), asOfVersion, asOf)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setETag(w, v)
	who := s.viewerOf(r)
	if asOfVersion != 0 || !asOf.IsZero() {
		// A past state offers no action: commands act on the offer as it
		// stands now.
		who = viewer{}
	}
	writeJSON(w, http.StatusOK, offerFromView(o.View(), v, who))
}

// offerAsOf waits for the request's min_position and reads which state of
// an offer it asks for: ?as_of_version=N or ?as_of=<RFC 3339>, zero for the
// offer as it stands.
func (s *Server) offerAsOf(r *http.Request) (version uint64, at time.Time, err error) {
	if err := s.catchUp(r); err != nil {
		return 0, time.Time{}, err
	}
	q := r.URL.Query()
	if v := q.Get("as_of_version"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return 0, time.Time{}, domain.Invalid("as_of_version", "as_of_version must be a positive integer")
		}
		version = n
	}
	if v := q.Get("as_of"); v != "" {
		if at, err = parseTime("as_of", v); err != nil {
			return 0, time.Time{}, err
		}
	}
	return version, at, nil
}

// offerCommand is a command on one offer named in the path.
type offerCommand func(s *Server, r *http.Request, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error)

// runOfferCommand runs cmd on the offer of the path and answers the offer,
// 200.
func (s *Server) runOfferCommand(w http.ResponseWriter, r *http.Request, param string, cmd offerCommand) {
	o, res, err := cmd(s, r, meta(r), domain.OfferID(chi.URLParam(r, param)))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	writeJSON(w, http.StatusOK, offerFromView(o.View(), res.Version, s.viewerOf(r)))
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

	revision command.Revision
}

func (q *reviseOfferRequest) check() (err error) {
	q.revision.Message = q.Message
	if q.TemplateID != nil {
		if *q.TemplateID == "" {
			return domain.Invalid("template_id", "template_id must name a template when given")
		}
		q.revision.TemplateID = domain.TemplateID(*q.TemplateID)
	}
	q.revision.ExpiresAt, err = optionalTime("expires_at", q.ExpiresAt)
	return err
}

// handleOfferRevise replaces an undecided offer of the reseller with a new
// one: 202 with the successor, which is delivered in the background.
func (s *Server) handleOfferRevise(w http.ResponseWriter, r *http.Request) {
	o, res, err := s.cfg.Commands.ReviseOffer(r.Context(), meta(r), domain.OfferID(chi.URLParam(r, "id")), body[reviseOfferRequest](r).revision)
	s.answerNewOffer(w, r, o, res, err)
}
