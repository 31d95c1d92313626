package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// CampaignConsumerGroup is the durable consumer group of the campaign
// process.
const CampaignConsumerGroup = "process.campaign"

// campaignWorkers is how many offers of a campaign are created at once:
// concurrent appends share the log's commits (group commit), so a
// campaign of 1,000 takes a fraction of the fsyncs it would one by one.
const campaignWorkers = 8

// CampaignManager creates the offers of every campaign from its
// campaign.started event. The event names each offer's id, so creating
// them is idempotent: after a crash midway, the redelivered event creates
// the offers still missing and refuses the others.
type CampaignManager struct {
	svc *command.Service
	log *slog.Logger
}

// NewCampaignManager returns a CampaignManager writing through svc.
func NewCampaignManager(svc *command.Service, log *slog.Logger) *CampaignManager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &CampaignManager{svc: svc, log: log}
}

// Handle reacts to campaign.started by creating and dispatching each of its
// offers; other events are acknowledged untouched. The offers are recorded
// with the actor who started the campaign (it is their sender), caused by
// the campaign's event, with event ids derived from it.
func (m *CampaignManager) Handle(ctx context.Context, e eventstore.Event) error {
	if e.Type != domain.TypeCampaignStarted {
		return nil
	}
	var ev domain.CampaignStarted
	if err := processDecode(e, &ev); err != nil {
		return err
	}
	meta := processMeta("campaign", e, e.ID)
	meta.Actor = e.Metadata.Actor
	next := make(chan int)
	var (
		mu      sync.Mutex
		errs    []error
		created int
		wg      sync.WaitGroup
	)
	for range min(campaignWorkers, len(ev.Offers)) {
		wg.Go(func() {
			for i := range next {
				_, res, err := m.svc.CreateCampaignOffer(ctx, meta, ev, i)
				mu.Lock()
				switch {
				case err == nil:
					if len(res.Events) > 0 {
						created++
					}
				case processDone(err):
					// Created before (a redelivery after a crash midway).
					if !errors.Is(err, domain.ErrOfferExists) {
						m.log.WarnContext(ctx, "campaign offer refused", "campaign_id", ev.CampaignID, "offer_id", ev.Offers[i].OfferID, "err", err)
					}
				default:
					errs = append(errs, fmt.Errorf("create offer %s of campaign %s: %w", ev.Offers[i].OfferID, ev.CampaignID, err))
				}
				mu.Unlock()
			}
		})
	}
	for i := range ev.Offers {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		// The event comes again; the offers created meanwhile are refused
		// then, so only the missing ones are made.
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.log.InfoContext(ctx, "campaign offers created", "campaign_id", ev.CampaignID, "offers", len(ev.Offers), "created", created)
	return nil
}
