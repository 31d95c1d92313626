package command

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// NewWebhookSecret returns a new secret for signing webhook notifications,
// in the Standard Webhooks form ("whsec_" + base64 of 32 random bytes).
func NewWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+): it aborts the program instead
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// CreateOffer creates an offer from a template of the acting reseller to one
// of its customers, and dispatches it for delivery.
//
// The first round reads the customer and the template from the handler's
// cache without asking the log (see streamCache), and appends the offer on
// the condition that both streams are still at the versions read
// (eventstore.WithConditions), checked by the store in the transaction that
// writes it. Only a write so checked is taken from that round: any other
// outcome (a refusal, a condition that failed, a retry's earlier run found)
// may come from an outdated cache, and the command runs again as it did
// before the cache, on current reads (the stream's tail read after the
// cached version) and without conditions. Over a store that does not check
// conditions only that second kind of round runs.
func (s *Service) CreateOffer(ctx context.Context, m Meta, customer domain.CustomerID, template domain.TemplateID, message string, expiresAt *time.Time) (*domain.Offer, Result, error) {
	if s.h.conds {
		o, res, err := s.createOffer(ctx, m, customer, template, message, expiresAt, false)
		var stale *eventstore.VersionError
		var refused *domain.Error
		switch {
		case errors.As(err, &stale):
			// The customer or the template changed since it was cached
			// (or, rarely, the offer's id was drawn twice): nothing was
			// written.
			if s.h.cfg.OnConflict != nil {
				s.h.cfg.OnConflict()
			}
		case errors.As(err, &refused), err == nil && len(res.Events) == 0:
			// A refusal wrote nothing; a seeded retry found its earlier
			// run, and the next round names the same stream.
		default:
			// Written, or an error that may have left the offer written
			// (ctx ended while the append was being committed): answered
			// as it is, as without the cache.
			return o, res, err
		}
	}
	return s.createOffer(ctx, m, customer, template, message, expiresAt, true)
}

func (s *Service) createOffer(ctx context.Context, m Meta, customer domain.CustomerID, template domain.TemplateID, message string, expiresAt *time.Time, current bool) (*domain.Offer, Result, error) {
	reseller := domain.ResellerID(m.Actor.Tenant)
	c := newCustomer()
	cv, _, _, _, err := s.h.loadCached(ctx, domain.CustomerStream(customer), c, current)
	if err != nil {
		return nil, Result{}, err
	}
	if !c.Exists() || c.Reseller() != reseller {
		return nil, Result{}, domain.ErrCustomerNotFound
	}
	conds := []eventstore.StreamVersion{{Stream: domain.CustomerStream(customer), Version: cv}}
	t := newTemplate()
	if template != "" {
		tv, _, _, _, err := s.h.loadCached(ctx, domain.TemplateStream(template), t, current)
		if err != nil {
			return nil, Result{}, err
		}
		conds = append(conds, eventstore.StreamVersion{Stream: domain.TemplateStream(template), Version: tv})
	}
	if !current {
		ctx = eventstore.WithConditions(ctx, conds...)
	}
	id := domain.OfferID(s.h.newIDFor(m))
	o, res, err := executeNew(ctx, s.h, domain.OfferStream(id), newOffer, m, func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
		return o.Create(id, reseller, c, t, message, expiresAt, now)
	})
	if err != nil {
		return nil, Result{}, err
	}
	// A retry of a command that ran before the customer was erased
	// answers the offer it made, with its texts gone.
	if at := c.ErasedAt(); at != nil {
		o.Apply(&domain.CustomerErased{CustomerID: c.ID(), At: *at})
	}
	return o, res, nil
}

// Offer loads an offer the actor may see, as it stands now or, when
// asOfVersion or asOf is given, as it stood then.
func (s *Service) Offer(ctx context.Context, actor domain.Actor, id domain.OfferID, asOfVersion uint64, asOf time.Time) (*domain.Offer, uint64, error) {
	o := newOffer()
	v, err := LoadUntil(ctx, s.h, domain.OfferStream(id), o, asOfVersion, asOf)
	if err != nil {
		return nil, 0, err
	}
	if !o.VisibleTo(actor) {
		// Visibility is judged on the offer as it is now: a customer may not
		// see an offer before it was delivered, even as of a later version.
		return nil, 0, domain.ErrOfferNotFound
	}
	if err := s.foldErasure(ctx, o); err != nil {
		return nil, 0, err
	}
	return o, v, nil
}

// updateOffer runs decide on an offer the actor may see, and returns the
// offer with its customer's erasure folded in.
func (s *Service) updateOffer(ctx context.Context, m Meta, id domain.OfferID, decide func(*domain.Offer, time.Time) ([]domain.Event, error)) (*domain.Offer, Result, error) {
	o, res, err := decideOffer(ctx, s.h, m, id, decide)
	if err != nil {
		return nil, Result{}, err
	}
	if err := s.foldErasure(ctx, o); err != nil {
		return nil, Result{}, err
	}
	return o, res, nil
}

// WithdrawOffer withdraws an offer of the acting reseller.
func (s *Service) WithdrawOffer(ctx context.Context, m Meta, id domain.OfferID) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Withdraw(now) })
}

// RedeliverOffer starts delivery of an offer over after it failed.
func (s *Service) RedeliverOffer(ctx context.Context, m Meta, id domain.OfferID) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Redeliver(now) })
}

// ReadOffer records the acting customer opening an offer.
func (s *Service) ReadOffer(ctx context.Context, m Meta, id domain.OfferID) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Read(now, m.Actor.Name) })
}

// AcceptOffer records the acting customer accepting an offer.
func (s *Service) AcceptOffer(ctx context.Context, m Meta, id domain.OfferID) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Accept(now, m.Actor.Name) })
}

// RejectOffer records the acting customer rejecting an offer.
func (s *Service) RejectOffer(ctx context.Context, m Meta, id domain.OfferID, reason string) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
		return o.Reject(reason, now, m.Actor.Name)
	})
}

// decideOffer runs decide on an offer the actor may see.
func decideOffer(ctx context.Context, h *Handler, m Meta, id domain.OfferID, decide func(*domain.Offer, time.Time) ([]domain.Event, error)) (*domain.Offer, Result, error) {
	return Execute(ctx, h, domain.OfferStream(id), newOffer, m, func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
		if !o.VisibleTo(m.Actor) {
			return nil, domain.ErrOfferNotFound
		}
		return decide(o, now)
	})
}

// RecordDelivery records round dispatch of an offer's delivery as done, as
// DeliverOffer does, and returns only the result: the delivery process has
// no use for the offer, and folding its customer's erasure into it read the
// customer's stream once more for every offer delivered (issue 7).
func (s *Service) RecordDelivery(ctx context.Context, m Meta, id domain.OfferID, dispatch int) (Result, error) {
	_, res, err := decideOffer(ctx, s.h, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Deliver(dispatch, now) })
	return res, err
}

// DeliverOffer records round dispatch of an offer's delivery as done.
func (s *Service) DeliverOffer(ctx context.Context, m Meta, id domain.OfferID, dispatch int) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Deliver(dispatch, now) })
}

// FailOfferDelivery records round dispatch of an offer's delivery as failed.
func (s *Service) FailOfferDelivery(ctx context.Context, m Meta, id domain.OfferID, dispatch int, reason string, attempts int) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
		return o.FailDelivery(dispatch, reason, attempts, now)
	})
}

// ExpireOffer records an offer expired, if its time has come.
func (s *Service) ExpireOffer(ctx context.Context, m Meta, id domain.OfferID) (*domain.Offer, Result, error) {
	return s.updateOffer(ctx, m, id, func(o *domain.Offer, now time.Time) ([]domain.Event, error) { return o.Expire(now) })
}

// GrantLicenses records the licenses of an accepted offer, once.
func (s *Service) GrantLicenses(ctx context.Context, m Meta, id domain.OfferID) (*domain.Grant, Result, error) {
	o := newOffer()
	if _, _, err := Load(ctx, s.h, domain.OfferStream(id), o); err != nil {
		return nil, Result{}, err
	}
	return Execute(ctx, s.h, domain.GrantStream(id), newGrant, m, func(g *domain.Grant, _ time.Time) ([]domain.Event, error) {
		return g.GrantFor(o)
	})
}
