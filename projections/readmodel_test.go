package projections_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections"
)

func TestReadModels(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	// Running first: every event takes the live path, through the
	// subscriber and the Watermill router.
	e.run(t, e.db, projections.Config{})
	w := newRMWorld(t, e)
	e.waitHead(t, e.db)
	db := e.db

	t.Run("Products", func(t *testing.T) {
		pg, err := db.Products(ctx, w.r1, "EXCEL", domain.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := rmProductNames(pg.Items); !cmp.Equal(got, []string{"excel Advanced", "Excel Basics"}) || pg.NextCursor != "" {
			t.Fatalf("search EXCEL = %v, cursor %q", got, pg.NextCursor)
		}
		if terms := pg.Items[1].LicenseTermsMonths; !cmp.Equal(terms, []int{12, 24}) {
			t.Errorf("terms = %v, want sorted [12 24]", terms)
		}
		first, err := db.Products(ctx, w.r1, "", domain.PageRequest{Limit: 2})
		if err != nil || first.NextCursor == "" {
			t.Fatalf("first page: %v, cursor %q", err, first.NextCursor)
		}
		second, err := db.Products(ctx, w.r1, "", domain.PageRequest{Limit: 2, Cursor: first.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		all := append(rmProductNames(first.Items), rmProductNames(second.Items)...)
		if !cmp.Equal(all, []string{"excel Advanced", "Excel Basics", "Word"}) || second.NextCursor != "" {
			t.Fatalf("paged = %v, last cursor %q", all, second.NextCursor)
		}
		if _, err := db.Product(ctx, w.r2, w.pExcel); !errors.Is(err, domain.ErrProductNotFound) {
			t.Errorf("another reseller's product: %v", err)
		}
		if p, err := db.Product(ctx, w.r1, w.pExcel); err != nil || p.Name != "Excel Basics" || p.Version != 1 {
			t.Errorf("Product = %+v, %v", p, err)
		}
		if _, err := db.Products(ctx, w.r1, "", domain.PageRequest{Cursor: "!!"}); domain.ErrorCode(err) != domain.EMALFORMED {
			t.Errorf("bad cursor: %v", err)
		}
		other, err := db.Customers(ctx, w.r1, domain.PageRequest{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Products(ctx, w.r1, "", domain.PageRequest{Cursor: other.NextCursor}); domain.ErrorCode(err) != domain.EMALFORMED {
			t.Errorf("cursor of another list: %v", err)
		}
	})

	t.Run("Templates", func(t *testing.T) {
		tp, err := db.Template(ctx, w.r1, w.tStarter)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range tp.Items {
			got = append(got, it.ProductName+"/"+string(it.LicenseMode))
		}
		if want := []string{"Excel Basics/relative", "excel Advanced/relative"}; !cmp.Equal(got, want) {
			t.Errorf("items = %v, want %v", got, want)
		}
		if tp.Version != 8 || tp.Items[1].Seats == nil || *tp.Items[1].Seats != 10 || tp.Items[0].Seats != nil {
			t.Errorf("template = %+v", tp)
		}
		live, err := db.Templates(ctx, w.r1, false, domain.PageRequest{})
		if err != nil || len(live.Items) != 1 || live.Items[0].ID != w.tStarter || len(live.Items[0].Items) != 2 {
			t.Errorf("live templates = %+v, %v", live, err)
		}
		all, err := db.Templates(ctx, w.r1, true, domain.PageRequest{})
		if err != nil || len(all.Items) != 2 || all.Items[0].ID != w.tOld || !all.Items[0].Archived || all.Items[0].Items == nil {
			t.Errorf("all templates = %+v, %v", all, err)
		}
		if _, err := db.Template(ctx, w.r2, w.tStarter); !errors.Is(err, domain.ErrTemplateNotFound) {
			t.Errorf("another reseller's template: %v", err)
		}
	})

	t.Run("Customers", func(t *testing.T) {
		pg, err := db.Customers(ctx, w.r1, domain.PageRequest{})
		if err != nil || len(pg.Items) != 2 || pg.Items[0].Name != "alpha AG" || pg.Items[1].Name != "Zeta GmbH" {
			t.Fatalf("customers = %+v, %v", pg, err)
		}
		zeta := pg.Items[1]
		want := map[domain.OfferStatus]int{domain.StatusWaiting: 0, domain.StatusWaitingForConfirmation: 0,
			domain.StatusAccepted: 1, domain.StatusRejected: 1, domain.StatusWithdrawn: 1, domain.StatusExpired: 1,
			domain.StatusDeliveryFailed: 0, domain.StatusSuperseded: 0}
		if diff := cmp.Diff(want, zeta.OfferCounts); diff != "" {
			t.Errorf("Zeta's counts (-want +got):\n%s", diff)
		}
		if zeta.Version != 2 || zeta.ExternalRef != "Z-1" {
			t.Errorf("Zeta = %+v (version 2: registered, webhook set)", zeta)
		}
		alpha, err := db.Customer(ctx, w.r1, w.cAlpha)
		if err != nil || alpha.OfferCounts[domain.StatusWaitingForConfirmation] != 1 || alpha.OfferCounts[domain.StatusDeliveryFailed] != 0 {
			t.Errorf("Alpha = %+v, %v", alpha, err)
		}
		if _, err := db.Customer(ctx, w.r2, w.cZeta); !errors.Is(err, domain.ErrCustomerNotFound) {
			t.Errorf("another reseller's customer: %v", err)
		}
		if _, err := db.CustomerOffers(ctx, w.r2, w.cZeta, domain.PageRequest{}); !errors.Is(err, domain.ErrCustomerNotFound) {
			t.Errorf("another reseller's customer's offers: %v", err)
		}
		offers, err := db.CustomerOffers(ctx, w.r1, w.cZeta, domain.PageRequest{})
		if got := rmOfferIDs(offers.Items); err != nil || !cmp.Equal(got, []domain.OfferID{w.oExpired, w.oWithdrawn, w.oRejected, w.oAccepted}) {
			t.Errorf("Zeta's offers = %v, %v", got, err)
		}
	})

	t.Run("Offers", func(t *testing.T) {
		pg, err := db.Offers(ctx, domain.OfferFilter{Reseller: w.r1, Page: domain.PageRequest{Limit: 3}})
		if err != nil {
			t.Fatal(err)
		}
		next, err := db.Offers(ctx, domain.OfferFilter{Reseller: w.r1, Page: domain.PageRequest{Limit: 3, Cursor: pg.NextCursor}})
		if err != nil {
			t.Fatal(err)
		}
		got := append(rmOfferIDs(pg.Items), rmOfferIDs(next.Items)...)
		want := []domain.OfferID{w.oExpired, w.oWithdrawn, w.oRedelivered, w.oRejected, w.oAccepted}
		if !cmp.Equal(got, want) || next.NextCursor != "" {
			t.Errorf("offers newest first = %v, want %v", got, want)
		}
		none, err := db.Offers(ctx, domain.OfferFilter{Reseller: w.r2})
		if err != nil || len(none.Items) != 0 || none.Items == nil {
			t.Errorf("Beta's offers = %+v, %v", none, err)
		}
		acc, err := db.Offers(ctx, domain.OfferFilter{Reseller: w.r1, Customer: w.cZeta, Status: domain.StatusAccepted})
		if err != nil || !cmp.Equal(rmOfferIDs(acc.Items), []domain.OfferID{w.oAccepted}) {
			t.Errorf("accepted of Zeta = %v, %v", rmOfferIDs(acc.Items), err)
		}
		o := acc.Items[0]
		if o.ResellerName != "Acme Learning" || o.CustomerName != "Zeta GmbH" || o.Version != 5 || o.Offer.Message != "Hello Zeta" {
			t.Errorf("accepted offer = %+v", o)
		}
		rmTimes(t, "accepted", o.Offer.CreatedAt, o.Offer.DeliveredAt, o.Offer.OpenedAt, o.Offer.DecidedAt, w.at)
		if _, err := db.Offer(ctx, w.r2, w.oAccepted); !errors.Is(err, domain.ErrOfferNotFound) {
			t.Errorf("another reseller's offer: %v", err)
		}
		rej, err := db.Offer(ctx, w.r1, w.oRejected)
		if err != nil || rej.Offer.RejectionReason != "too expensive" || rej.Offer.Status != domain.StatusRejected ||
			!rej.Offer.DecidedAt.Equal(w.at["rejected.decided"]) {
			t.Errorf("rejected = %+v, %v", rej, err)
		}
		red, err := db.Offer(ctx, w.r1, w.oRedelivered)
		if err != nil || red.Offer.Dispatch != 2 || red.Offer.DeliveryError != "" || red.Version != 5 ||
			red.Offer.Status != domain.StatusWaitingForConfirmation {
			t.Errorf("redelivered = %+v, %v", red, err)
		}
		wd, err := db.Offer(ctx, "", w.oWithdrawn)
		if err != nil || wd.Offer.WithdrawnAt == nil || !wd.Offer.WithdrawnAt.Equal(w.at["withdrawn.withdrawn"]) || wd.Offer.DeliveredAt != nil {
			t.Errorf("withdrawn = %+v, %v", wd, err)
		}
		ex, err := db.Offer(ctx, w.r1, w.oExpired)
		if err != nil || ex.Offer.ExpiredAt == nil || !ex.Offer.ExpiredAt.Equal(w.at["expired.expired"]) || ex.Offer.ExpiresAt == nil {
			t.Errorf("expired = %+v, %v", ex, err)
		}
		// The read model shows what the command side folds from the stream.
		for _, id := range want {
			rec, err := db.Offer(ctx, w.r1, id)
			if err != nil {
				t.Fatal(err)
			}
			agg, version, err := e.svc.Offer(ctx, rmSystem(), id, 0, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(agg.View(), rec.Offer); diff != "" || version != rec.Version {
				t.Errorf("offer %s: version %d vs %d; (-log +read model):\n%s", id, version, rec.Version, diff)
			}
		}
	})

	t.Run("InboxAndBadge", func(t *testing.T) {
		pg, err := db.Inbox(ctx, w.cZeta, domain.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rmInboxIDs(pg.Items), []domain.OfferID{w.oExpired, w.oRejected, w.oAccepted}; !cmp.Equal(got, want) {
			t.Errorf("Zeta's inbox = %v, want %v (newest delivery first, never the undelivered)", got, want)
		}
		acc := pg.Items[2]
		if !acc.Read || acc.ResellerName != "Acme Learning" || !acc.ReceivedAt.Equal(w.at["accepted.delivered"]) || acc.Offer.Message != "Hello Zeta" {
			t.Errorf("accepted entry = %+v", acc)
		}
		if pg.Items[1].Read {
			t.Errorf("rejected offer was never opened, but reads as read")
		}
		if _, err := db.InboxEntry(ctx, w.cZeta, w.oWithdrawn); !errors.Is(err, domain.ErrOfferNotFound) {
			t.Errorf("undelivered offer in the inbox: %v", err)
		}
		if _, err := db.InboxEntry(ctx, w.cAlpha, w.oAccepted); !errors.Is(err, domain.ErrOfferNotFound) {
			t.Errorf("another customer's offer in the inbox: %v", err)
		}
		rmBadge(t, db, w.cZeta, 0)
		rmBadge(t, db, w.cAlpha, 1)
		rmBadge(t, db, w.cOther, 0)
		_, r, err := e.svc.ReadOffer(ctx, rmMeta(rmCustomer(w.cAlpha)), w.oRedelivered)
		if err != nil {
			t.Fatal(err)
		}
		rmWait(t, db, r.Position)
		rmBadge(t, db, w.cAlpha, 0)
		entry, err := db.InboxEntry(ctx, w.cAlpha, w.oRedelivered)
		if err != nil || !entry.Read {
			t.Errorf("opened entry = %+v, %v", entry, err)
		}
	})

	t.Run("Licenses", func(t *testing.T) {
		pg, err := db.Licenses(ctx, w.cZeta, domain.PageRequest{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		rest, err := db.Licenses(ctx, w.cZeta, domain.PageRequest{Cursor: pg.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		ls := append(pg.Items, rest.Items...)
		if len(ls) != 2 || ls[0].ProductID != w.pExcel || ls[1].ProductID != w.pAdvanced {
			t.Fatalf("licenses = %+v", ls)
		}
		decided := w.at["accepted.decided"]
		for _, l := range ls {
			if l.OfferID != w.oAccepted || l.CustomerID != w.cZeta || !l.GrantedAt.Equal(decided) || l.LicenseMode != domain.ModeRelative || l.ValidUntil != nil {
				t.Errorf("license = %+v", l)
			}
		}
		if ls[1].Seats == nil || *ls[1].Seats != 10 {
			t.Errorf("seats = %v, want 10", ls[1].Seats)
		}
		if none, err := db.Licenses(ctx, w.cAlpha, domain.PageRequest{}); err != nil || len(none.Items) != 0 {
			t.Errorf("Alpha's licenses = %+v, %v", none, err)
		}
	})

	t.Run("Audit", func(t *testing.T) { rmCheckAudit(t, e, w) })

	t.Run("RebuildIdentical", func(t *testing.T) {
		e.waitHead(t, db)
		if diff := cmp.Diff(rmFingerprint(t, db), rmFingerprint(t, e.rebuilt(t, "rebuilt.db"))); diff != "" {
			t.Errorf("live and rebuilt read models differ (-live +rebuilt):\n%s", diff)
		}
	})
}

func rmProductNames(ps []domain.ProductRecord) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func rmOfferIDs(os []domain.OfferRecord) []domain.OfferID {
	var out []domain.OfferID
	for _, o := range os {
		out = append(out, o.Offer.ID)
	}
	return out
}

func rmInboxIDs(es []domain.InboxEntry) []domain.OfferID {
	var out []domain.OfferID
	for _, e := range es {
		out = append(out, e.Offer.ID)
	}
	return out
}

func rmTimes(t *testing.T, name string, created time.Time, delivered, opened, decided *time.Time, at map[string]time.Time) {
	t.Helper()
	check := func(step string, got *time.Time) {
		if got == nil || !got.Equal(at[name+"."+step]) {
			t.Errorf("%s %s at %v, want %v", name, step, got, at[name+"."+step])
		}
	}
	check("created", &created)
	check("delivered", delivered)
	check("opened", opened)
	check("decided", decided)
}

func rmBadge(t *testing.T, db *projections.DB, c domain.CustomerID, want int) {
	t.Helper()
	b, err := db.Badge(context.Background(), c)
	if err != nil || b != (domain.Badge{Admin: want, Updates: want}) {
		t.Errorf("badge of %s = %+v, %v; want %d", c, b, err, want)
	}
}

func rmWait(t testing.TB, db *projections.DB, pos uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.WaitFor(ctx, pos); err != nil {
		t.Fatal(err)
	}
}
