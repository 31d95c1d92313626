package http

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/offerflow/offerflow/domain"
)

// TreeHeads is the Merkle tree over the whole log, in log order, with its
// signed tree heads (package eventstore/treehead implements it).
type TreeHeads interface {
	// Head returns the current signed tree head, signing (and recording)
	// a new one when the log has grown since the last.
	Head(ctx context.Context) (domain.TreeHead, error)
	// Key returns the public key that verifies the heads.
	Key() domain.TreeKey
	// Consistency returns the hex consistency proof between the trees of
	// sizes from and to; invalid (naming the field) unless 1 <= from <= to
	// <= the log's size.
	Consistency(ctx context.Context, from, to uint64) ([]string, error)
	// Inclusion returns the hex root of the tree of the given size and the
	// inclusion proof of each of events that is in it; invalid ("size")
	// unless 1 <= size <= the log's size.
	Inclusion(ctx context.Context, size uint64, events []domain.Envelope) (string, []domain.LeafProof, error)
}

// treeHeads returns the configured tree, or answers 404 when the server
// keeps none.
func (s *Server) treeHeads(w http.ResponseWriter, r *http.Request) (TreeHeads, bool) {
	if s.cfg.TreeHeads == nil {
		s.Error(w, r, domain.Errorf(domain.ENOTFOUND, "this server keeps no tree heads"))
		return nil, false
	}
	return s.cfg.TreeHeads, true
}

// handleAuditHead answers the current signed tree head.
func (s *Server) handleAuditHead(w http.ResponseWriter, r *http.Request) {
	t, ok := s.treeHeads(w, r)
	if !ok {
		return
	}
	h, err := t.Head(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// handleAuditKey answers the public key that verifies tree heads.
func (s *Server) handleAuditKey(w http.ResponseWriter, r *http.Request) {
	t, ok := s.treeHeads(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, t.Key())
}

// consistencyResponse is the body of GET /v1/audit/consistency.
type consistencyResponse struct {
	From  uint64   `json:"from"`
	To    uint64   `json:"to"`
	Proof []string `json:"proof"`
}

// handleAuditConsistency answers the consistency proof between two sizes.
func (s *Server) handleAuditConsistency(w http.ResponseWriter, r *http.Request) {
	t, ok := s.treeHeads(w, r)
	if !ok {
		return
	}
	from, err := treeSize(r, "from")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	to, err := treeSize(r, "to")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	p, err := t.Consistency(r.Context(), from, to)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, consistencyResponse{From: from, To: to, Proof: p})
}

// treeSize reads a required tree size from the query.
func treeSize(r *http.Request, name string) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, domain.Invalid(name, "%s is required", name)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n < 1 {
		return 0, domain.Invalid(name, "%s must be a positive integer", name)
	}
	return n, nil
}

// offerProofResponse is the body of GET /v1/offers/{id}/proof.
type offerProofResponse struct {
	OfferID  string             `json:"offer_id"`
	Size     uint64             `json:"size"`
	RootHash string             `json:"root_hash"`
	Items    []domain.LeafProof `json:"items"`
}

// handleOfferProof answers, for every event of an offer in the tree of
// ?size= (the current signed head's by default), its leaf index and
// inclusion proof. Whoever may read the offer's history may ask.
func (s *Server) handleOfferProof(w http.ResponseWriter, r *http.Request) {
	t, ok := s.treeHeads(w, r)
	if !ok {
		return
	}
	events, err := resource[[]domain.Envelope](s, r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var size uint64
	if r.URL.Query().Has("size") {
		n, err := treeSize(r, "size")
		if err != nil {
			s.Error(w, r, err)
			return
		}
		size = n
	} else {
		h, err := t.Head(r.Context())
		if err != nil {
			s.Error(w, r, err)
			return
		}
		size = h.Size
	}
	root, proofs, err := t.Inclusion(r.Context(), size, events)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, offerProofResponse{OfferID: chi.URLParam(r, "id"), Size: size, RootHash: root, Items: proofs})
}

// proofPath is the whole history of the offer that a path names, through
// the same visibility rule as /history.
var proofPath = &pathResource{
	params: historyPath.params,
	find: func(s *Server, r *http.Request) (any, error) {
		var events []domain.Envelope
		page := domain.PageRequest{Limit: maxLimit}
		for {
			p, err := s.cfg.History.OfferHistory(r.Context(), identity(r), domain.OfferID(chi.URLParam(r, "id")), page)
			if err != nil {
				return nil, err
			}
			events = append(events, p.Items...)
			if p.NextCursor == "" {
				return events, nil
			}
			page.Cursor = p.NextCursor
		}
	},
}
