package command

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/domain"
)

func newCampaign() *domain.Campaign { return &domain.Campaign{} }

// CampaignOfferID is the id of the offer campaign sends to customer. It is
// derived from both, so that the campaign's event can name every offer
// before any is created, and whoever creates them (the campaign process,
// again after a crash) creates each under the same id, at most once.
func CampaignOfferID(campaign domain.CampaignID, customer domain.CustomerID) domain.OfferID {
	return domain.OfferID(uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:offerflow:campaign-offer:"+string(campaign)+"\x00"+string(customer))).String())
}

// StartCampaign records a campaign of a template of the acting reseller to
// its customers ids: one append of campaign.started to the campaign's own
// stream, which names every offer. The offers themselves are created from
// that event by the campaign process (process.CampaignManager), each in its
// own stream; nothing is written when any id is refused.
func (s *Service) StartCampaign(ctx context.Context, m Meta, template domain.TemplateID, ids []domain.CustomerID, message string, expiresAt *time.Time) (*domain.Campaign, Result, error) {
	reseller := domain.ResellerID(m.Actor.Tenant)
	t := newTemplate()
	if template != "" {
		if _, _, err := Load(ctx, s.h, domain.TemplateStream(template), t); err != nil {
			return nil, Result{}, err
		}
	}
	customers := map[domain.CustomerID]*domain.Customer{}
	// Too many ids are refused before any is read.
	if len(ids) <= domain.MaxCampaignCustomers {
		for _, cid := range ids {
			if _, ok := customers[cid]; ok {
				continue
			}
			c, _, err := s.Customer(ctx, cid)
			if err != nil && !errors.Is(err, domain.ErrCustomerNotFound) {
				return nil, Result{}, err
			}
			customers[cid] = c // nil when there is none
		}
	}
	id := domain.CampaignID(s.h.newIDFor(m))
	offerID := func(c domain.CustomerID) domain.OfferID { return CampaignOfferID(id, c) }
	return executeNew(ctx, s.h, domain.CampaignStream(id), newCampaign, m, func(c *domain.Campaign, now time.Time) ([]domain.Event, error) {
		return c.Start(id, reseller, t, ids, customers, offerID, message, expiresAt, now)
	})
}

// Campaign loads a campaign the actor may see.
func (s *Service) Campaign(ctx context.Context, actor domain.Actor, id domain.CampaignID) (*domain.Campaign, uint64, error) {
	c := newCampaign()
	v, _, err := Load(ctx, s.h, domain.CampaignStream(id), c)
	if err != nil {
		return nil, 0, err
	}
	if !c.VisibleTo(actor) {
		return nil, 0, domain.ErrCampaignNotFound
	}
	return c, v, nil
}

// CreateCampaignOffer creates the offer of campaign s to its i-th customer,
// and dispatches it; an offer that exists already is refused
// (domain.ErrOfferExists), and with m's idempotency seed a retry of an
// earlier run answers as that run did.
func (s *Service) CreateCampaignOffer(ctx context.Context, m Meta, started domain.CampaignStarted, i int) (*domain.Offer, Result, error) {
	if i < 0 || i >= len(started.Offers) {
		return nil, Result{}, domain.ErrOfferNotFound
	}
	return Execute(ctx, s.h, domain.OfferStream(started.Offers[i].OfferID), newOffer, m, func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
		return o.CreateInCampaign(started, i, now)
	})
}
