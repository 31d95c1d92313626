package projections_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// rmWorld is a small, fixed scenario: two resellers, a catalog, templates,
// customers and offers that end in every status.
type rmWorld struct {
	r1, r2                   domain.ResellerID
	pExcel, pAdvanced, pWord domain.ProductID
	tStarter, tOld           domain.TemplateID
	cZeta, cAlpha, cOther    domain.CustomerID
	// oAccepted (to Zeta), oRejected (Zeta), oRedelivered (Alpha, waiting
	// for confirmation, unread), oWithdrawn (Zeta, never delivered),
	// oExpired (Zeta).
	oAccepted, oRejected, oRedelivered, oWithdrawn, oExpired domain.OfferID
	at                                                       map[string]time.Time
}

func newRMWorld(t *testing.T, e *rmEnv) *rmWorld {
	t.Helper()
	ctx := context.Background()
	w := &rmWorld{at: map[string]time.Time{}}
	op := rmMeta(rmOperator())
	w.r1 = rmMust[*domain.Reseller](t)(e.svc.RegisterReseller(ctx, op, "Acme Learning")).ID()
	w.r2 = rmMust[*domain.Reseller](t)(e.svc.RegisterReseller(ctx, op, "Beta Courses")).ID()
	r1, r2 := rmMeta(rmReseller(w.r1)), rmMeta(rmReseller(w.r2))

	product := rmMust[*domain.Product](t)
	w.pExcel = product(e.svc.AddProduct(ctx, r1, "Excel Basics", domain.KindModule, []int{24, 12})).ID()
	w.pAdvanced = product(e.svc.AddProduct(ctx, r1, "excel Advanced", domain.KindCourse, []int{6})).ID()
	w.pWord = product(e.svc.AddProduct(ctx, r1, "Word", domain.KindModule, []int{12})).ID()
	product(e.svc.AddProduct(ctx, r2, "Excel for Beta", domain.KindModule, []int{12}))

	tpl := rmMust[*domain.Template](t)
	w.tStarter = tpl(e.svc.CreateTemplate(ctx, r1, "Starter")).ID()
	ten := 10
	addItem := func(p domain.ProductID, term int, mode domain.LicenseMode, seats *int) domain.ItemID {
		_, id, _, err := e.svc.AddTemplateItem(ctx, r1, w.tStarter, p, term, mode, seats)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := addItem(w.pExcel, 12, domain.ModeAbsolute, nil)
	addItem(w.pAdvanced, 6, domain.ModeRelative, &ten)
	word := addItem(w.pWord, 12, domain.ModeAbsolute, nil)
	tpl(e.svc.SetTemplateItemMode(ctx, r1, w.tStarter, first, domain.ModeRelative))
	tpl(e.svc.SetTemplateItemMode(ctx, r1, w.tStarter, first, domain.ModeAbsolute))
	tpl(e.svc.SetTemplateItemMode(ctx, r1, w.tStarter, first, domain.ModeRelative))
	tpl(e.svc.RemoveTemplateItem(ctx, r1, w.tStarter, word))
	w.tOld = tpl(e.svc.CreateTemplate(ctx, r1, "Old offers")).ID()
	tpl(e.svc.ArchiveTemplate(ctx, r1, w.tOld))

	customer := rmMust[*domain.Customer](t)
	w.cZeta = customer(e.svc.RegisterCustomer(ctx, r1, "Zeta GmbH", "Z-1")).ID()
	w.cAlpha = customer(e.svc.RegisterCustomer(ctx, r1, "alpha AG", "")).ID()
	w.cOther = customer(e.svc.RegisterCustomer(ctx, r2, "Other", "")).ID()
	customer(e.svc.SetWebhook(ctx, rmMeta(rmCustomer(w.cZeta)), "https://hooks.example.com/offers", false))

	offer := rmMust[*domain.Offer](t)
	sys := rmMeta(rmSystem())
	zeta := rmMeta(rmCustomer(w.cZeta))
	step := func(name string) {
		e.clock.Advance(time.Minute)
		w.at[name] = e.clock.Now()
	}

	step("accepted.created")
	w.oAccepted = offer(e.svc.CreateOffer(ctx, r1, w.cZeta, w.tStarter, "Hello Zeta", nil)).ID()
	step("accepted.delivered")
	offer(e.svc.DeliverOffer(ctx, sys, w.oAccepted, 1))
	step("accepted.opened")
	offer(e.svc.ReadOffer(ctx, zeta, w.oAccepted))
	offer(e.svc.ReadOffer(ctx, zeta, w.oAccepted)) // recorded once
	step("accepted.decided")
	offer(e.svc.AcceptOffer(ctx, zeta, w.oAccepted))
	rmMust[*domain.Grant](t)(e.svc.GrantLicenses(ctx, sys, w.oAccepted))

	step("rejected.created")
	w.oRejected = offer(e.svc.CreateOffer(ctx, r1, w.cZeta, w.tStarter, "", nil)).ID()
	offer(e.svc.DeliverOffer(ctx, sys, w.oRejected, 1))
	step("rejected.decided")
	offer(e.svc.RejectOffer(ctx, zeta, w.oRejected, "too expensive"))

	step("redelivered.created")
	w.oRedelivered = offer(e.svc.CreateOffer(ctx, r1, w.cAlpha, w.tStarter, "Hi Alpha", nil)).ID()
	offer(e.svc.FailOfferDelivery(ctx, sys, w.oRedelivered, 1, "connection refused", 8))
	offer(e.svc.RedeliverOffer(ctx, r1, w.oRedelivered))
	step("redelivered.delivered")
	offer(e.svc.DeliverOffer(ctx, sys, w.oRedelivered, 2))

	step("withdrawn.created")
	w.oWithdrawn = offer(e.svc.CreateOffer(ctx, r1, w.cZeta, w.tStarter, "", nil)).ID()
	step("withdrawn.withdrawn")
	offer(e.svc.WithdrawOffer(ctx, r1, w.oWithdrawn))

	step("expired.created")
	expires := e.clock.Now().Add(48 * time.Hour)
	w.oExpired = offer(e.svc.CreateOffer(ctx, r1, w.cZeta, w.tStarter, "", &expires)).ID()
	step("expired.delivered")
	offer(e.svc.DeliverOffer(ctx, sys, w.oExpired, 1))
	e.clock.Advance(49 * time.Hour)
	w.at["expired.expired"] = e.clock.Now()
	offer(e.svc.ExpireOffer(ctx, sys, w.oExpired))
	return w
}

func rmCheckAudit(t *testing.T, e *rmEnv, w *rmWorld) {
	ctx := context.Background()
	all, err := e.store.ReadAll(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	// expect lists, per actor, the positions it may read: computed from the
	// log with the domain's own visibility rule.
	offers := map[domain.OfferID]*domain.Offer{}
	var audited []uint64
	owner := map[uint64]domain.OfferID{}
	for _, ev := range all {
		de, err := domain.DecodeEvent(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		var id domain.OfferID
		switch x := de.(type) {
		case *domain.LicensesGranted:
			id = x.OfferID
		case *domain.OfferCreated:
			id, offers[x.OfferID] = x.OfferID, &domain.Offer{}
		}
		if strings.HasPrefix(ev.Stream, "offer-") {
			id = domain.OfferID(strings.TrimPrefix(ev.Stream, "offer-"))
			offers[id].Apply(de)
		}
		if id != "" {
			audited = append(audited, ev.Position)
			owner[ev.Position] = id
		}
	}
	expect := func(a domain.Actor) []uint64 {
		var out []uint64
		for _, p := range audited {
			if offers[owner[p]].VisibleTo(a) {
				out = append(out, p)
			}
		}
		return out
	}
	actors := []domain.Actor{rmReseller(w.r1), rmReseller(w.r2), rmCustomer(w.cZeta), rmCustomer(w.cAlpha), rmCustomer(w.cOther),
		{Role: domain.RoleAuditor, Tenant: "*"}, {Role: domain.RoleAuditor, Tenant: string(w.r1)}, {Role: domain.RoleAuditor, Tenant: string(w.r2)}}
	for _, a := range actors {
		var got []uint64
		var after uint64
		for {
			page, err := e.db.AuditEvents(ctx, a, after, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page {
				got = append(got, ev.Position)
			}
			if len(page) < 4 {
				break
			}
			after = page[len(page)-1].Position
		}
		if want := expect(a); !cmp.Equal(got, want) {
			t.Errorf("%s %s reads %v, want %v", a.Role, a.Tenant, got, want)
		}
	}
	if n := len(expect(rmCustomer(w.cZeta))); n == 0 || n >= len(audited) {
		t.Fatalf("scenario too weak: Zeta sees %d of %d events", n, len(audited))
	}
	if _, err := e.db.AuditEvents(ctx, rmOperator(), 0, 10); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("operator reading the audit feed: %v", err)
	}
	// The envelope is the stored event, hash chain included.
	feed, err := e.db.AuditEvents(ctx, domain.Actor{Role: domain.RoleAuditor, Tenant: "*"}, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[uint64]domain.Envelope{}
	for _, ev := range all {
		stored[ev.Position] = ev
	}
	for _, got := range feed {
		if diff := cmp.Diff(stored[got.Position], got); diff != "" {
			t.Errorf("audit event %d (-stored +index):\n%s", got.Position, diff)
		}
	}
	hist, err := e.db.OfferHistory(ctx, rmCustomer(w.cZeta), w.oAccepted, domain.PageRequest{Limit: 3})
	if err != nil || len(hist.Items) != 3 || hist.Items[0].Type != domain.TypeOfferCreated || hist.NextCursor == "" {
		t.Errorf("history page = %+v, %v", hist, err)
	}
	if _, err := e.db.OfferHistory(ctx, rmCustomer(w.cZeta), w.oWithdrawn, domain.PageRequest{}); !errors.Is(err, domain.ErrOfferNotFound) {
		t.Errorf("history of an undelivered offer, to its customer: %v", err)
	}
	if _, err := e.db.OfferHistory(ctx, rmReseller(w.r2), w.oAccepted, domain.PageRequest{}); !errors.Is(err, domain.ErrOfferNotFound) {
		t.Errorf("history of another reseller's offer: %v", err)
	}
}
