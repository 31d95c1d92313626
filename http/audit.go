package http

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// History serves an offer's events from the event store itself, the truth
// with its hash chain, rather than from a read model.
type History interface {
	// OfferHistory returns one page of the events of offer id, oldest first, when
	// actor may see the offer (domain.Offer.VisibleTo); not_found otherwise,
	// and malformed for a cursor it did not issue.
	OfferHistory(ctx context.Context, actor domain.Actor, id domain.OfferID, page domain.PageRequest) (domain.Page[domain.Envelope], error)
}

// handleOfferHistory lists every event of an offer, oldest first.
func (s *Server) handleOfferHistory(w http.ResponseWriter, r *http.Request) {
	_, err := s.queryPage(r)
	var p domain.Page[domain.Envelope]
	if err == nil {
		p, err = resource[domain.Page[domain.Envelope]](s, r)
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(p, eventFromAudit))
}

// historyPath is a page of the history of the offer that a path names, as
// the caller may see it (see History).
var historyPath = &pathResource{
	params: []pathID{{"id", domain.ErrOfferNotFound}},
	find: func(s *Server, r *http.Request) (any, error) {
		return s.cfg.History.OfferHistory(r.Context(), identity(r), domain.OfferID(chi.URLParam(r, "id")), lookupPage(r))
	},
}

// handleAuditEvents streams the events the caller may see after ?after=, in
// global order, one JSON object a line.
func (s *Server) handleAuditEvents(w http.ResponseWriter, r *http.Request) {
	page, err := s.queryPage(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			s.Error(w, r, domain.Invalid("after", "after must be a non-negative integer"))
			return
		}
	}
	evs, err := s.cfg.Queries.AuditEvents(r.Context(), identity(r), after, page.Limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, e := range evs {
		if err := enc.Encode(eventFromAudit(e)); err != nil {
			return
		}
	}
}
