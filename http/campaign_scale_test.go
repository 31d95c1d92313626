package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// TestCampaign_Thousand sends the largest campaign the contract allows,
// 1,000 customers, and meanwhile another reseller's offers to a customer
// without a webhook: the campaign is accepted and creates 1,000 offers,
// each exactly once (one offer.created per customer in the log), all
// delivered; the other reseller's offers reach the inbox within the
// contract's bound (about a second, five at most) while the campaign is
// still delivering. It logs where each offer's time went: to its
// offer.delivered in the log (the delivery process), and from there to the
// inbox (the read models following the log).
func TestCampaign_Thousand(t *testing.T) {
	if testing.Short() {
		// About 20 s (50 s with -race) on a 2-core machine at load 20, and
		// its bound is wall-clock time: not for the -short runs.
		t.Skip("a campaign of 1,000 customers and a time bound")
	}
	const n = 1000
	ts := MustOpenServer(t)
	w := NewWorld(t, ts)
	r := w.ResellerC
	setup := time.Now()
	// The customers, registered through the command side by a few writers
	// at once: the API's part in it is covered elsewhere, and a thousand
	// requests would be most of the test's time (only the test's goroutine
	// may fail the test: the others report).
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	as := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: w.Reseller, Subject: "test"}}
	for k := range 8 {
		wg.Go(func() {
			for i := k; i < n; i += 8 {
				c, _, err := ts.Service.RegisterCustomer(context.Background(), as, fmt.Sprintf("Kunde %d", i), "")
				if err != nil {
					errs <- fmt.Errorf("customer %d: %w", i, err)
					return
				}
				ids[i] = string(c.ID())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ot := w.OtherResellerC.CreateTemplate(t, "Andere")
	w.OtherResellerC.AddItem(t, ot, w.OtherResellerC.CreateProduct(t, "Modul", 12), 12)
	ts.Settle(t)
	t.Logf("%d customers registered in %v", n, time.Since(setup).Round(time.Millisecond))

	start := time.Now()
	var c struct {
		ID     string
		Offers []struct {
			CustomerID string `json:"customer_id"`
			OfferID    string `json:"offer_id"`
		}
	}
	res := r.Must(t, 202, "POST", "/v1/campaigns", map[string]any{"template_id": w.Template, "customer_ids": ids, "message": "An alle"})
	res.Decode(t, &c)
	campaign := fmt.Sprintf("/v1/campaigns/%s?min_position=%d", c.ID, res.Position(t))
	t.Logf("campaign of %d accepted in %v", n, time.Since(start).Round(time.Millisecond))
	if len(c.Offers) != n {
		t.Fatalf("campaign names %d offers, want %d", len(c.Offers), n)
	}

	// delivered tells how many of the campaign's offers are delivered.
	delivered := func() int {
		var got struct{ Counts map[string]int }
		r.Must(t, 200, "GET", campaign, nil).Decode(t, &got)
		return got.Counts["waiting_for_confirmation"]
	}
	// The other reseller's offers, one after another while the campaign
	// delivers: each to the inbox within the bound.
	const bound = 5 * time.Second
	var worst time.Duration
	during := 0
	for i := 0; i < 5; i++ {
		before := delivered()
		sent := time.Now()
		offer := w.OtherResellerC.SendOffer(t, w.ForeignCustomer, ot, fmt.Sprintf("nebenher %d", i))
		Eventually(t, bound, fmt.Sprintf("the other reseller's offer %d in the inbox", i), func() bool {
			inbox := w.ForeignCustomerC.Must(t, 200, "GET", "/v1/inbox", nil)
			var page struct{ Items []struct{ ID string } }
			inbox.Decode(t, &page)
			for _, e := range page.Items {
				if e.ID == offer {
					return true
				}
			}
			return false
		})
		took := time.Since(sent)
		after := delivered()
		// Where the time went: the delivery process's offer.delivered in
		// the log, or the read models' following of the log.
		var inLog time.Duration
		if o, _, err := ts.Service.Offer(context.Background(), domain.SystemActor("test"), domain.OfferID(offer), 0, time.Time{}); err == nil {
			if at := o.View().DeliveredAt; at != nil {
				inLog = at.Sub(sent)
			}
		}
		// And how many events went into the log between its dispatch and
		// its delivery: the campaign's work that went first, a count the
		// machine's load does not change.
		var dispatched, deliveredAt uint64
		evs, err := eventstore.ReadStreamAll(context.Background(), ts.Store, domain.OfferStream(domain.OfferID(offer)), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			switch e.Type {
			case domain.TypeOfferDispatched:
				dispatched = e.Position
			case domain.TypeOfferDelivered:
				deliveredAt = e.Position
			}
		}
		worst = max(worst, took)
		if before < n {
			during++
		}
		t.Logf("other reseller's offer %d: delivered (in the log) %v and in the inbox %v after it was sent, %d events appended between its dispatch and its delivery; %d of the campaign's %d delivered before, %d after",
			i, inLog.Round(time.Millisecond), took.Round(time.Millisecond), deliveredAt-dispatched-1, before, n, after)
	}
	if during == 0 {
		t.Errorf("the campaign was delivered before the other reseller's first offer: nothing measured beside it")
	}
	t.Logf("other reseller's offers: worst %v to the inbox, %d of 5 sent while the campaign delivered", worst.Round(time.Millisecond), during)

	Eventually(t, 60*time.Second, "the campaign's 1,000 offers delivered", func() bool { return delivered() == n })
	t.Logf("campaign of %d delivered %v after it was sent", n, time.Since(start).Round(time.Millisecond))

	// Exactly once: one offer.created per customer, with the campaign's
	// offer id, in the whole log.
	ts.Settle(t)
	evs, err := ts.Sealed.ReadAll(context.Background(), 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, o := range c.Offers {
		want[o.OfferID] = o.CustomerID
	}
	created := map[string]int{}
	for _, e := range evs {
		if e.Type != "offer.created" {
			continue
		}
		var d struct {
			OfferID    string `json:"offer_id"`
			CustomerID string `json:"customer_id"`
			CampaignID string `json:"campaign_id"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.CampaignID != c.ID {
			continue
		}
		if want[d.OfferID] != d.CustomerID {
			t.Errorf("offer.created %s to %s, not an offer the campaign named", d.OfferID, d.CustomerID)
		}
		created[d.OfferID]++
	}
	if len(created) != n {
		t.Errorf("%d offers created in the campaign, want %d", len(created), n)
	}
	for id, k := range created {
		if k != 1 {
			t.Errorf("offer %s created %d times", id, k)
		}
	}
}
