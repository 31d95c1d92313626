package process_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// startCampaign registers n more customers of tn's reseller, each with
// webhook url when it is not empty, and starts a campaign of tn's template
// to them.
func (tn tenant) startCampaign(t *testing.T, e *processEnv, n int, url string) domain.CampaignStarted {
	t.Helper()
	ctx := context.Background()
	rm := command.Meta{Actor: tn.reseller}
	ids := make([]domain.CustomerID, n)
	for i := range ids {
		c, _, err := e.svc.RegisterCustomer(ctx, rm, fmt.Sprintf("Campaign customer %d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID()
		if url != "" {
			if _, _, err := e.svc.SetWebhook(ctx, command.Meta{Actor: domain.Actor{Role: domain.RoleCustomer, Tenant: string(c.ID())}}, url, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, _, err := e.svc.StartCampaign(ctx, rm, tn.template, ids, "Campaign", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Started()
}

// TestCampaign_CreatesEveryOfferOnce starts a campaign whose first offers
// were created before a crash (by the campaign process's own command, with
// the seed it uses, and one of them by the same command run twice): the
// campaign process then creates the missing ones, none twice, each in its
// own stream, dispatched, sent by the campaign's reseller.
func TestCampaign_CreatesEveryOfferOnce(t *testing.T) {
	e := newProcessEnv(t, nil)
	tn := e.newTenant(t, "campaign")
	started := tn.startCampaign(t, e, 12, "")
	evs := e.events(t, domain.CampaignStream(started.CampaignID))
	if len(evs) != 1 || evs[0].Type != domain.TypeCampaignStarted {
		t.Fatalf("campaign stream %+v, want one campaign.started", evs)
	}
	crashed := command.Meta{Actor: tn.reseller, CausationID: evs[0].ID, IdempotencySeed: evs[0].ID}
	for i := range 5 {
		if _, _, err := e.svc.CreateCampaignOffer(context.Background(), crashed, started, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, res, err := e.svc.CreateCampaignOffer(context.Background(), crashed, started, 0); err != nil || len(res.Events) != 0 {
		t.Fatalf("the same offer again: %d events, %v; want none written", len(res.Events), err)
	}

	p := e.start(t, fastRetries(3))
	for _, co := range started.Offers {
		e.waitStatus(t, co.OfferID, domain.StatusWaitingForConfirmation, 30*time.Second)
	}
	e.waitIdle(t, p)
	for _, co := range started.Offers {
		created := e.ofType(t, domain.OfferStream(co.OfferID), domain.TypeOfferCreated)
		if len(created) != 1 {
			t.Fatalf("offer %s: %d offer.created events, want 1", co.OfferID, len(created))
		}
		oc := decode[domain.OfferCreated](t, created[0])
		if oc.CampaignID != started.CampaignID || oc.CustomerID != co.CustomerID || oc.ResellerID != started.ResellerID {
			t.Errorf("offer %s created as %+v, want campaign %s to customer %s", co.OfferID, oc, started.CampaignID, co.CustomerID)
		}
		if created[0].Metadata.Actor.Role != domain.RoleReseller || created[0].Metadata.Actor.Tenant != string(started.ResellerID) {
			t.Errorf("offer %s created by %+v, want the campaign's reseller", co.OfferID, created[0].Metadata.Actor)
		}
		if n := len(e.ofType(t, domain.OfferStream(co.OfferID), domain.TypeOfferDispatched)); n != 1 {
			t.Errorf("offer %s dispatched %d times, want once", co.OfferID, n)
		}
	}
}

// TestCampaign_DoesNotStarveOtherResellers sends a campaign to 60 customers
// whose webhooks hang, with 8 delivery slots: without a share per
// reseller the campaign's deliveries would hold every slot until their
// calls time out (30 s here). Another reseller's offer must be delivered
// within the contract's five seconds meanwhile, and the campaign may hold
// no more than its share of the slots.
func TestCampaign_DoesNotStarveOtherResellers(t *testing.T) {
	e := newProcessEnv(t, nil)
	sender := e.newTenant(t, "sender")
	other := e.newTenant(t, "other")

	var hangs inFlight
	stop := make(chan struct{})
	var stopOnce sync.Once
	hangSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hangs.enter()
		defer hangs.leave()
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hangSrv.Close)
	t.Cleanup(func() { stopOnce.Do(func() { close(stop) }) })

	cfg := fastRetries(3)
	cfg.MaxActiveDeliveries = 8
	cfg.WebhookTimeout = 30 * time.Second
	e.start(t, cfg)
	sender.startCampaign(t, e, 60, hangSrv.URL)
	processWait(t, 30*time.Second, func() bool { return hangs.now.Load() >= 4 }, "the campaign's calls to take their share of the slots")

	start := time.Now()
	id := other.offer(t, e)
	e.waitStatus(t, id, domain.StatusWaitingForConfirmation, 5*time.Second)
	t.Logf("other reseller's offer delivered %v after it was sent, beside %d hanging calls of the campaign",
		time.Since(start).Round(time.Millisecond), hangs.now.Load())
	const share = 4 // MaxActivePerReseller's default: half the slots
	if n := hangs.peak.Load(); n > share {
		t.Errorf("%d calls of one reseller's campaign at once, want at most %d", n, share)
	}
	stopOnce.Do(func() { close(stop) })
}
