package projections_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// rmWorkload drives random lifecycles through command.Service: resellers,
// catalogs, templates being edited, customers, and offers that go through
// every path (delivery, failure and redelivery, opening, acceptance with its
// license grant, rejection, withdrawal, expiry, revision, reminder) in random
// interleavings. A
// fixed seed makes a run repeatable.
type rmWorkload struct {
	e         *rmEnv
	rng       *rand.Rand
	resellers []*rmTenant
	open      []*rmOffer // offers not decided, withdrawn or expired
	hooks     map[domain.CustomerID]bool
	erased    map[domain.CustomerID]bool
	// Customers lists every customer, for checks that go over all.
	Customers []domain.CustomerID
	named     int // names given, which makes each one unique
}

type rmTenant struct {
	id        domain.ResellerID
	products  []*domain.Product
	templates []*rmTemplate
	customers []domain.CustomerID
}

type rmTemplate struct {
	id       domain.TemplateID
	items    []domain.ItemID
	held     []string // held[i]: the product and term of items[i], held once per template
	archived bool
}

type rmOffer struct {
	id       domain.OfferID
	reseller domain.ResellerID
	customer domain.CustomerID
	expires  *time.Time
	o        *domain.Offer
}

func newRMWorkload(e *rmEnv, seed uint64) *rmWorkload {
	return &rmWorkload{e: e, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), hooks: map[domain.CustomerID]bool{}, erased: map[domain.CustomerID]bool{}}
}

// Run steps until the log holds at least n events.
func (w *rmWorkload) Run(tb testing.TB, n uint64) {
	tb.Helper()
	for w.e.head(tb) < n {
		w.Step(tb)
	}
}

// Step runs one random command (or a few, where one calls for the next,
// like a grant after an acceptance). Commands the domain refuses are part of
// the game and write nothing.
func (w *rmWorkload) Step(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	w.e.clock.Advance(time.Duration(1+w.rng.IntN(600)) * time.Second)
	if len(w.resellers) == 0 || (len(w.resellers) < 4 && w.rng.IntN(40) == 0) {
		r := rmMust[*domain.Reseller](tb)(w.e.svc.RegisterReseller(ctx, rmMeta(rmOperator()), fmt.Sprintf("Reseller %d", len(w.resellers))))
		w.resellers = append(w.resellers, &rmTenant{id: r.ID()})
		return
	}
	t := w.resellers[w.rng.IntN(len(w.resellers))]
	m := rmMeta(rmReseller(t.id))
	switch n := w.rng.IntN(100); {
	case n < 5 || len(t.products) == 0:
		terms := []int{6, 12, 24, 36}[:1+w.rng.IntN(4)]
		kind := []domain.ProductKind{domain.KindModule, domain.KindCourse}[w.rng.IntN(2)]
		p := rmMust[*domain.Product](tb)(w.e.svc.AddProduct(ctx, m, w.name("Product"), kind, terms))
		t.products = append(t.products, p)
	case n == 8 && len(t.customers) > 2 && w.rng.IntN(3) == 0:
		// An erased customer gets no more offers and writes no more texts.
		i := w.rng.IntN(len(t.customers))
		c := t.customers[i]
		if _, _, err := w.e.svc.EraseCustomer(ctx, m, c); err != nil {
			tb.Fatalf("erase customer %s: %v", c, err)
		}
		t.customers = slices.Delete(t.customers, i, i+1)
		w.erased[c] = true
	case n < 9 || len(t.customers) == 0:
		id := rmMust[*domain.Customer](tb)(w.e.svc.RegisterCustomer(ctx, m, w.name("Customer"), "")).ID()
		t.customers = append(t.customers, id)
		w.Customers = append(w.Customers, id)
	case n < 12:
		c := t.customers[w.rng.IntN(len(t.customers))]
		cm := rmMeta(rmCustomer(c))
		if w.hooks[c] && w.rng.IntN(2) == 0 {
			rmMust[*domain.Customer](tb)(w.e.svc.RemoveWebhook(ctx, cm))
		} else {
			rmMust[*domain.Customer](tb)(w.e.svc.SetWebhook(ctx, cm, "https://hooks.example.com/x", false))
		}
		w.hooks[c] = !w.hooks[c]
	case n < 15 || len(t.templates) == 0:
		tp := rmMust[*domain.Template](tb)(w.e.svc.CreateTemplate(ctx, m, w.name("Template")))
		t.templates = append(t.templates, &rmTemplate{id: tp.ID()})
	case n < 22:
		w.editTemplate(tb, m, t)
	case n < 38:
		w.createOffer(tb, m, t)
	default:
		w.moveOffer(tb)
	}
}

func (w *rmWorkload) editTemplate(tb testing.TB, m command.Meta, t *rmTenant) {
	ctx := context.Background()
	tp := t.templates[w.rng.IntN(len(t.templates))]
	if tp.archived {
		return
	}
	switch n := w.rng.IntN(20); {
	case n == 0:
		rmMust[*domain.Template](tb)(w.e.svc.ArchiveTemplate(ctx, m, tp.id))
		tp.archived = true
	case n < 12 || len(tp.items) == 0:
		p := t.products[w.rng.IntN(len(t.products))]
		terms := p.Terms()
		var seats *int
		if w.rng.IntN(3) == 0 {
			s := 1 + w.rng.IntN(50)
			seats = &s
		}
		mode := []domain.LicenseMode{domain.ModeAbsolute, domain.ModeRelative}[w.rng.IntN(2)]
		term := terms[w.rng.IntN(len(terms))]
		key := fmt.Sprintf("%s/%d", p.ID(), term)
		if slices.Contains(tp.held, key) {
			return // the domain refuses a product twice in one term
		}
		_, id, _, err := w.e.svc.AddTemplateItem(ctx, m, tp.id, p.ID(), term, mode, seats)
		if err != nil {
			tb.Fatalf("add item: %v", err)
		}
		tp.items = append(tp.items, id)
		tp.held = append(tp.held, key)
	case n < 17:
		mode := []domain.LicenseMode{domain.ModeAbsolute, domain.ModeRelative}[w.rng.IntN(2)]
		rmMust[*domain.Template](tb)(w.e.svc.SetTemplateItemMode(ctx, m, tp.id, tp.items[w.rng.IntN(len(tp.items))], mode))
	default:
		i := w.rng.IntN(len(tp.items))
		rmMust[*domain.Template](tb)(w.e.svc.RemoveTemplateItem(ctx, m, tp.id, tp.items[i]))
		tp.items = slices.Delete(tp.items, i, i+1)
		tp.held = slices.Delete(tp.held, i, i+1)
	}
}

func (w *rmWorkload) createOffer(tb testing.TB, m command.Meta, t *rmTenant) {
	ctx := context.Background()
	var usable []*rmTemplate
	for _, tp := range t.templates {
		if !tp.archived && len(tp.items) > 0 {
			usable = append(usable, tp)
		}
	}
	if len(usable) == 0 {
		w.editTemplate(tb, m, t)
		return
	}
	var expires *time.Time
	if w.rng.IntN(3) == 0 {
		at := w.e.clock.Now().Add(time.Duration(1+w.rng.IntN(72)) * time.Hour)
		expires = &at
	}
	customer := t.customers[w.rng.IntN(len(t.customers))]
	msg := ""
	if w.rng.IntN(2) == 0 {
		msg = w.name("Message")
	}
	if w.rng.IntN(8) == 0 {
		w.startCampaign(tb, m, t, usable[w.rng.IntN(len(usable))].id, msg, expires)
		return
	}
	o, _, err := w.e.svc.CreateOffer(ctx, m, customer, usable[w.rng.IntN(len(usable))].id, msg, expires)
	if err != nil {
		tb.Fatalf("create offer: %v", err)
	}
	w.open = append(w.open, &rmOffer{id: o.ID(), reseller: t.id, customer: customer, expires: expires, o: o})
}

// startCampaign sends template to up to three of t's customers in one
// campaign, and creates its offers as the campaign process does.
func (w *rmWorkload) startCampaign(tb testing.TB, m command.Meta, t *rmTenant, template domain.TemplateID, msg string, expires *time.Time) {
	ctx := context.Background()
	ids := append([]domain.CustomerID(nil), t.customers...)
	w.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:min(len(ids), 1+w.rng.IntN(3))]
	c, _, err := w.e.svc.StartCampaign(ctx, m, template, ids, msg, expires)
	if err != nil {
		tb.Fatalf("start campaign: %v", err)
	}
	started := c.Started()
	for i, co := range started.Offers {
		o, _, err := w.e.svc.CreateCampaignOffer(ctx, m, started, i)
		if err != nil {
			tb.Fatalf("create offer %d of campaign %s: %v", i, started.CampaignID, err)
		}
		w.open = append(w.open, &rmOffer{id: co.OfferID, reseller: t.id, customer: co.CustomerID, expires: expires, o: o})
	}
}

// moveOffer takes one open offer a step further along its lifecycle.
func (w *rmWorkload) moveOffer(tb testing.TB) {
	if len(w.open) == 0 {
		return
	}
	ctx := context.Background()
	i := w.rng.IntN(len(w.open))
	of := w.open[i]
	sys, res, cus := rmMeta(rmSystem()), rmMeta(rmReseller(of.reseller)), rmMeta(rmCustomer(of.customer))
	r := w.rng.IntN(100)
	var (
		o   *domain.Offer
		err error
	)
	switch {
	case of.expires != nil && (r < 6 || !w.e.clock.Now().Before(*of.expires)):
		// Past its deadline an offer can only expire (or be withdrawn):
		// the domain refuses a decision after expires_at.
		if now := w.e.clock.Now(); now.Before(*of.expires) {
			w.e.clock.Advance(of.expires.Sub(now) + time.Second)
		}
		o, _, err = w.e.svc.ExpireOffer(ctx, sys, of.id)
	case r < 10:
		o, _, err = w.e.svc.WithdrawOffer(ctx, res, of.id)
	case r >= 98:
		msg := w.name("Revised")
		next, _, err := w.e.svc.ReviseOffer(ctx, res, of.id, command.Revision{Message: &msg})
		if err != nil {
			tb.Fatalf("revise offer %s in %s: %v", of.id, of.o.Status(), err)
		}
		w.open[i] = &rmOffer{id: next.ID(), reseller: of.reseller, customer: of.customer, expires: of.expires, o: next}
		return
	case r >= 95 && of.expires != nil && of.o.View().RemindedAt == nil:
		// Offers expire at most 72 hours after their creation: always
		// inside this window.
		o, _, err = w.e.svc.RemindOffer(ctx, sys, of.id, 73*time.Hour)
	case of.o.Status() == domain.StatusWaiting && r < 75:
		o, _, err = w.e.svc.DeliverOffer(ctx, sys, of.id, of.o.Dispatch())
	case of.o.Status() == domain.StatusWaiting:
		o, _, err = w.e.svc.FailOfferDelivery(ctx, sys, of.id, of.o.Dispatch(), "503 from webhook", 8)
	case of.o.Status() == domain.StatusDeliveryFailed:
		o, _, err = w.e.svc.RedeliverOffer(ctx, res, of.id)
	case r < 50:
		o, _, err = w.e.svc.ReadOffer(ctx, cus, of.id)
	case r < 80:
		o, _, err = w.e.svc.AcceptOffer(ctx, cus, of.id)
		if err == nil {
			rmMust[*domain.Grant](tb)(w.e.svc.GrantLicenses(ctx, sys, of.id))
		}
	default:
		reason := w.name("Reason")
		if w.erased[of.o.Customer()] {
			reason = "" // there is no key to seal a text with any more
		}
		o, _, err = w.e.svc.RejectOffer(ctx, cus, of.id, reason)
	}
	if err != nil {
		// Every branch above is chosen to be legal in the offer's state; a
		// refusal means the workload's picture of it is wrong.
		tb.Fatalf("offer %s in %s, action %d: %v", of.id, of.o.Status(), r, err)
	}
	of.o = o
	switch o.Status() {
	case domain.StatusAccepted, domain.StatusRejected, domain.StatusWithdrawn, domain.StatusExpired:
		w.open = slices.Delete(w.open, i, i+1)
	}
}

func (w *rmWorkload) name(prefix string) string {
	// The random part varies the names' order; the count keeps two from
	// being the same, which the domain refuses within a reseller
	// (BenchmarkProjection's 5,000 events drew "Product I667" twice).
	w.named++
	return fmt.Sprintf("%s %c%d-%d", prefix, 'A'+rune(w.rng.IntN(26)), w.rng.IntN(1000), w.named)
}
