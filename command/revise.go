package command

import (
	"context"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// Revision is what a reseller changes when revising an offer: a template
// (its items replace the offer's), a message, an expiry; a zero field keeps
// the old offer's.
type Revision struct {
	TemplateID domain.TemplateID
	Message    *string
	ExpiresAt  *time.Time
}

// ReviseOffer replaces an undecided offer of the acting reseller with a new
// one: offer.superseded is appended to the old offer's stream at the version
// it was decided on (so a decision racing it either lands first and the
// revision is refused, or finds the offer superseded), then the successor
// is created and dispatched in a stream of its own. It returns the
// successor. Should the second append not happen (a crash between the two),
// the revision process manager completes it from the superseded event
// (CompleteRevision); both write the successor with the same event ids.
func (s *Service) ReviseOffer(ctx context.Context, m Meta, id domain.OfferID, r Revision) (*domain.Offer, Result, error) {
	var rev domain.Revision
	rev.Message, rev.ExpiresAt = r.Message, r.ExpiresAt
	if r.TemplateID != "" {
		t := newTemplate()
		if _, _, err := Load(ctx, s.h, domain.TemplateStream(r.TemplateID), t); err != nil {
			return nil, Result{}, err
		}
		rev.Template = t
	}
	successor := domain.OfferID(s.h.newIDFor(m))
	old, res, err := s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
		return o.Revise(successor, rev, now)
	})
	if err != nil {
		return nil, Result{}, err
	}
	// If-Match named the old offer's version; the successor is new.
	next := m
	next.IfMatch = nil
	o, created, err := s.createRevision(ctx, next, old)
	if err != nil {
		return nil, Result{}, err
	}
	created.Position = max(created.Position, res.Position)
	return o, created, nil
}

// CompleteRevision creates the successor of an offer superseded by a
// revision, if the command that revised it did not (the revision process
// manager calls it for every offer.superseded). Done before, it writes
// nothing and returns the successor as stored.
func (s *Service) CompleteRevision(ctx context.Context, m Meta, id domain.OfferID) (*domain.Offer, Result, error) {
	old := newOffer()
	if _, _, err := Load(ctx, s.h, domain.OfferStream(id), old); err != nil {
		return nil, Result{}, err
	}
	if !old.Exists() {
		return nil, Result{}, domain.ErrOfferNotFound
	}
	return s.createRevision(ctx, m, old)
}

// createRevision appends the successor of old with the seed
// "revision:<old id>": whoever writes it, its events have the same ids, so
// it is stored once.
func (s *Service) createRevision(ctx context.Context, m Meta, old *domain.Offer) (*domain.Offer, Result, error) {
	next := old.SupersededBy()
	if next == "" {
		return nil, Result{}, domain.ErrOfferNotSuperseded
	}
	m.IdempotencySeed = "revision:" + string(old.ID())
	o, res, err := Execute(ctx, s.h, domain.OfferStream(next), newOffer, m, func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
		return o.CreateRevision(old, now)
	})
	if err != nil {
		return nil, Result{}, fmt.Errorf("create revision %s of offer %s: %w", next, old.ID(), err)
	}
	return o, res, nil
}

// RemindOffer records the one reminder of an offer's approaching expiry,
// when less than window is left.
func (s *Service) RemindOffer(ctx context.Context, m Meta, id domain.OfferID, window time.Duration) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Remind(window, now) })
}
