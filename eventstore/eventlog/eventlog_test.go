package eventlog_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventlog"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// fixture is one offer of one reseller to one customer, in a real SQLite
// event store.
type fixture struct {
	log      *eventlog.Log
	svc      *command.Service
	reseller domain.Actor
	customer domain.Actor
	offer    domain.OfferID
}

func mustFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	svc := command.NewService(command.NewHandler(store, command.Config{}))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	r, _, err := svc.RegisterReseller(ctx, command.Meta{Actor: domain.Actor{Role: domain.RoleOperator}}, "R")
	must(err)
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(r.ID()), Subject: "tok"}, CorrelationID: "req-1"}
	p, _, err := svc.AddProduct(ctx, rm, "P", domain.KindModule, []int{12})
	must(err)
	tpl, _, err := svc.CreateTemplate(ctx, rm, "T")
	must(err)
	_, _, _, err = svc.AddTemplateItem(ctx, rm, tpl.ID(), p.ID(), 12, domain.ModeAbsolute, nil)
	must(err)
	c, _, err := svc.RegisterCustomer(ctx, rm, "C", "")
	must(err)
	o, _, err := svc.CreateOffer(ctx, rm, c.ID(), tpl.ID(), "hi", nil)
	must(err)
	return fixture{log: eventlog.New(store), svc: svc, reseller: rm.Actor,
		customer: domain.Actor{Role: domain.RoleCustomer, Tenant: string(c.ID())}, offer: o.ID()}
}

func TestLog_OfferHistory(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	all := domain.PageRequest{Limit: 50}

	page, err := f.log.OfferHistory(ctx, f.reseller, f.offer, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[0].Type != domain.TypeOfferCreated || page.NextCursor != "" {
		t.Fatalf("history: %+v", page)
	}
	first, second := page.Items[0], page.Items[1]
	if first.PrevHash != "" || second.PrevHash != first.Hash || first.Hash == "" {
		t.Fatalf("hash chain: %+v, %+v", first, second)
	}
	if first.Metadata.Actor != f.reseller || first.Metadata.CorrelationID != "req-1" || first.Version != 1 || first.Position == 0 {
		t.Fatalf("envelope: %+v", first)
	}

	t.Run("ErrNotVisibleBeforeDelivery", func(t *testing.T) {
		if _, err := f.log.OfferHistory(ctx, f.customer, f.offer, all); !errors.Is(err, domain.ErrOfferNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		for _, a := range []domain.Actor{
			{Role: domain.RoleReseller, Tenant: "other"},
			{Role: domain.RoleAuditor, Tenant: "other"},
			{Role: domain.RoleCustomer, Tenant: "other"},
			{Role: domain.RoleOperator},
		} {
			if _, err := f.log.OfferHistory(ctx, a, f.offer, all); !errors.Is(err, domain.ErrOfferNotFound) {
				t.Fatalf("%+v: err = %v", a, err)
			}
		}
		if _, err := f.log.OfferHistory(ctx, f.reseller, "no-such-offer", all); !errors.Is(err, domain.ErrOfferNotFound) {
			t.Fatalf("unknown offer: err = %v", err)
		}
	})
	t.Run("VisibleAfterDelivery", func(t *testing.T) {
		if _, _, err := f.svc.DeliverOffer(ctx, command.Meta{Actor: domain.SystemActor("delivery")}, f.offer, 1); err != nil {
			t.Fatal(err)
		}
		p, err := f.log.OfferHistory(ctx, f.customer, f.offer, all)
		if err != nil || len(p.Items) != 3 {
			t.Fatalf("customer's history: %+v, %v", p, err)
		}
		if _, err := f.log.OfferHistory(ctx, domain.Actor{Role: domain.RoleAuditor, Tenant: "*"}, f.offer, all); err != nil {
			t.Fatalf("auditor of every reseller: %v", err)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		types := pagedTypes(t, f, 1)
		if len(types) != 3 || types[2] != domain.TypeOfferDelivered {
			t.Fatalf("paged history: %v", types)
		}
	})
	t.Run("CausedStreams", func(t *testing.T) {
		cm := command.Meta{Actor: f.customer}
		if _, _, err := f.svc.AcceptOffer(ctx, cm, f.offer); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.GrantLicenses(ctx, command.Meta{Actor: domain.SystemActor("grant")}, f.offer); err != nil {
			t.Fatal(err)
		}
		// Something else lands in the log after the grant: the offer's
		// history must not take it in.
		if _, _, err := f.svc.RegisterCustomer(ctx, command.Meta{Actor: f.reseller}, "D", ""); err != nil {
			t.Fatal(err)
		}
		for _, a := range []domain.Actor{f.reseller, f.customer, {Role: domain.RoleAuditor, Tenant: "*"}} {
			p, err := f.log.OfferHistory(ctx, a, f.offer, all)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			byStream := map[string][]eventstore.Event{}
			for i, e := range p.Items {
				got = append(got, e.Stream+" "+e.Type)
				if i > 0 && e.Position <= p.Items[i-1].Position {
					t.Fatalf("history not in log order: %d after %d", e.Position, p.Items[i-1].Position)
				}
				byStream[e.Stream] = append(byStream[e.Stream], e)
			}
			offer, grant := domain.OfferStream(f.offer), domain.GrantStream(f.offer)
			want := []string{offer + " " + domain.TypeOfferCreated, offer + " " + domain.TypeOfferDispatched,
				offer + " " + domain.TypeOfferDelivered, offer + " " + domain.TypeOfferAccepted, grant + " " + domain.TypeLicensesGranted}
			if !slices.Equal(got, want) {
				t.Fatalf("%s's history:\n got %v\nwant %v", a.Role, got, want)
			}
			// Each stream's chain verifies on its own, from the history alone.
			for stream, evs := range byStream {
				if err := eventstore.VerifyChain(evs); err != nil {
					t.Fatalf("chain of %s: %v", stream, err)
				}
			}
		}
		// Paging by log position crosses from the offer's stream into the grant's.
		types := pagedTypes(t, f, 2)
		if len(types) != 5 || types[4] != domain.TypeLicensesGranted {
			t.Fatalf("paged history: %v", types)
		}
	})
	t.Run("ErrBadCursor", func(t *testing.T) {
		for _, c := range []string{"garbage", "aGlzdG9yeTp4", "b3RoZXI6MQ"} {
			_, err := f.log.OfferHistory(ctx, f.reseller, f.offer, domain.PageRequest{Limit: 1, Cursor: c})
			if domain.ErrorCode(err) != domain.EMALFORMED {
				t.Fatalf("cursor %q: err = %v", c, err)
			}
		}
	})
}

func TestLog_ReadAllAndWait(t *testing.T) {
	ctx := context.Background()
	f := mustFixture(t)
	head, err := f.log.Head(ctx)
	if err != nil || head == 0 {
		t.Fatalf("head %d, err %v", head, err)
	}
	evs, err := f.log.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(evs)) != head || evs[len(evs)-1].Position != head || evs[0].Type != domain.TypeResellerRegistered {
		t.Fatalf("read %d events up to %d, head %d", len(evs), evs[len(evs)-1].Position, head)
	}
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := f.log.Wait(wctx, head); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait at the head returned %v", err)
	}
	if err := f.log.Wait(ctx, head-1); err != nil {
		t.Fatalf("Wait below the head: %v", err)
	}
}

// pagedTypes pages through the reseller's history of f's offer, limit
// events a page, and returns the events' types.
func pagedTypes(t *testing.T, f fixture, limit int) []string {
	t.Helper()
	var types []string
	req := domain.PageRequest{Limit: limit}
	for range 10 {
		p, err := f.log.OfferHistory(context.Background(), f.reseller, f.offer, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Items {
			types = append(types, e.Type)
		}
		if p.NextCursor == "" {
			break
		}
		req.Cursor = p.NextCursor
	}
	return types
}
