package http

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// handleInboxList lists the customer's delivered offers, newest first;
// with ?as_of= as they stood then.
func (s *Server) handleInboxList(w http.ResponseWriter, r *http.Request) {
	reads, page, release, err := s.listReads(w, r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	defer release()
	p, err := reads.Inbox(r.Context(), domain.CustomerID(identity(r).Tenant), page)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(p, s.viewerOf(r).inboxEntryFromRecord))
}

// handleInboxBadge returns the customer's unread counts.
func (s *Server) handleInboxBadge(w http.ResponseWriter, r *http.Request) {
	if err := s.catchUp(r); err != nil {
		s.Error(w, r, err)
		return
	}
	b, err := s.cfg.Queries.Badge(r.Context(), domain.CustomerID(identity(r).Tenant))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// handleInboxRead records the customer opening an offer: 204. Repeating it
// writes nothing.
func (s *Server) handleInboxRead(w http.ResponseWriter, r *http.Request) {
	_, res, err := s.cfg.Commands.ReadOffer(r.Context(), meta(r), domain.OfferID(chi.URLParam(r, "offer_id")))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	setCommandHeaders(w, res, true)
	w.WriteHeader(http.StatusNoContent)
}

// handleInboxAccept records the customer accepting an offer.
func (s *Server) handleInboxAccept(w http.ResponseWriter, r *http.Request) {
	s.runOfferCommand(w, r, "offer_id", func(s *Server, r *http.Request, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error) {
		return s.cfg.Commands.AcceptOffer(r.Context(), m, id)
	})
}

// rejectRequest is the body of POST /v1/inbox/{offer_id}/reject.
type rejectRequest struct {
	Reason string `json:"reason"`
}

// handleInboxReject records the customer rejecting an offer, with an
// optional reason.
func (s *Server) handleInboxReject(w http.ResponseWriter, r *http.Request) {
	reason := body[rejectRequest](r).Reason
	s.runOfferCommand(w, r, "offer_id", func(s *Server, r *http.Request, m command.Meta, id domain.OfferID) (*domain.Offer, command.Result, error) {
		return s.cfg.Commands.RejectOffer(r.Context(), m, id, reason)
	})
}

// handleLicenseList lists the licenses granted to the customer.
func (s *Server) handleLicenseList(w http.ResponseWriter, r *http.Request) {
	page, err := s.queryPage(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p, err := s.cfg.Queries.Licenses(r.Context(), domain.CustomerID(identity(r).Tenant), page)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(p, licenseFromRecord))
}
