package command_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// MustOpenStore opens a real SQLite event store in a temporary directory.
func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "events.db"), sqlite.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// world is a reseller with a product, a template holding it, and a customer.
type world struct {
	svc      *command.Service
	store    eventstore.Store
	reseller command.Meta
	customer command.Meta
	system   command.Meta
	template domain.TemplateID
	cust     domain.CustomerID
}

func mustWorld(t *testing.T, cfg command.Config) world {
	t.Helper()
	return mustWorldOn(t, MustOpenStore(t), cfg)
}

// mustWorldOn is mustWorld writing through store.
func mustWorldOn(t testing.TB, store eventstore.Store, cfg command.Config) world {
	t.Helper()
	ctx := context.Background()
	svc := command.NewService(command.NewHandler(store, cfg))
	r, _, err := svc.RegisterReseller(ctx, command.Meta{Actor: domain.Actor{Role: domain.RoleOperator}}, "R")
	if err != nil {
		t.Fatal(err)
	}
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(r.ID()), Subject: "t"}}
	p, _, err := svc.AddProduct(ctx, rm, "P", domain.KindModule, []int{12})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, _, err := svc.CreateTemplate(ctx, rm, "T")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := svc.AddTemplateItem(ctx, rm, tmpl.ID(), p.ID(), 12, domain.ModeAbsolute, nil); err != nil {
		t.Fatal(err)
	}
	c, _, err := svc.RegisterCustomer(ctx, rm, "C", "")
	if err != nil {
		t.Fatal(err)
	}
	return world{
		svc: svc, store: store, reseller: rm, template: tmpl.ID(), cust: c.ID(),
		customer: command.Meta{Actor: domain.Actor{Role: domain.RoleCustomer, Tenant: string(c.ID()), Subject: "t"}},
		system:   command.Meta{Actor: domain.SystemActor("test")},
	}
}

func TestExecute_RecordsActorTimeAndPosition(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	w := mustWorld(t, command.Config{Now: func() time.Time { return now }})
	o, res, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "hi", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 || len(res.Events) != 2 {
		t.Fatalf("create: version %d, %d events; want 2, 2", res.Version, len(res.Events))
	}
	head, _ := w.store.Head(ctx)
	if res.Position != head {
		t.Fatalf("position %d, head %d", res.Position, head)
	}
	evs, err := w.store.ReadStream(ctx, domain.OfferStream(o.ID()), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Metadata.Actor.Role != "reseller" || e.Metadata.Actor.Tenant != w.reseller.Actor.Tenant {
			t.Errorf("%s: actor %+v", e.Type, e.Metadata.Actor)
		}
		if !e.Metadata.OccurredAt.Equal(now) {
			t.Errorf("%s: occurred_at %s, want %s", e.Type, e.Metadata.OccurredAt, now)
		}
	}
}

func TestExecute_NothingToWriteReportsStreamPosition(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	o, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.DeliverOffer(ctx, w.system, o.ID(), 1); err != nil {
		t.Fatal(err)
	}
	_, first, err := w.svc.ReadOffer(ctx, w.customer, o.ID())
	if err != nil {
		t.Fatal(err)
	}
	_, again, err := w.svc.ReadOffer(ctx, w.customer, o.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Events) != 0 || again.Position != first.Position || again.Version != first.Version {
		t.Fatalf("repeated read: %+v, first %+v", again, first)
	}
}

func TestExecute_IfMatch(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	o, res, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrVersion", func(t *testing.T) {
		stale := res.Version - 1
		m := w.reseller
		m.IfMatch = &stale
		_, _, err := w.svc.WithdrawOffer(ctx, m, o.ID())
		if domain.ErrorCode(err) != domain.EVERSION {
			t.Fatalf("err %v, want version_conflict", err)
		}
	})
	t.Run("ValidationBeforeVersion", func(t *testing.T) {
		stale := uint64(99)
		m := w.reseller
		m.IfMatch = &stale
		_, _, err := w.svc.SetTemplateItemMode(ctx, m, w.template, "no-such-item", "sideways")
		if code := domain.ErrorCode(err); code != domain.ENOTFOUND && code != domain.EINVALID {
			t.Fatalf("err %v, want not_found or validation_failed before version_conflict", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		m := w.reseller
		v := res.Version
		m.IfMatch = &v
		got, _, err := w.svc.WithdrawOffer(ctx, m, o.ID())
		if err != nil || got.Status() != domain.StatusWithdrawn {
			t.Fatalf("withdraw with current version: %v, %v", got, err)
		}
	})
}

func TestExecute_TenantIsolation(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	o, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	other := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: "someone-else"}}
	if _, _, err := w.svc.WithdrawOffer(ctx, other, o.ID()); !errors.Is(err, domain.ErrOfferNotFound) {
		t.Fatalf("withdraw by another reseller: %v, want ErrOfferNotFound", err)
	}
	if _, _, err := w.svc.AcceptOffer(ctx, w.customer, o.ID()); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("customer accepting an undelivered offer: %v, want not_found", err)
	}
	if _, _, err := w.svc.CreateOffer(ctx, other, w.cust, w.template, "", nil); !errors.Is(err, domain.ErrCustomerNotFound) {
		t.Fatalf("offer to another reseller's customer: %v", err)
	}
	if _, _, err := w.svc.Template(ctx, other, w.template); !errors.Is(err, domain.ErrTemplateNotFound) {
		t.Fatalf("another reseller's template: %v", err)
	}
}

// TestExecute_ConcurrentCommandsRetry races many commands on one stream: each
// either succeeds after deciding again on fresh state or is refused by the
// domain, and the stream never holds two decisions.
func TestExecute_ConcurrentCommandsRetry(t *testing.T) {
	ctx := context.Background()
	var conflicts atomic.Int64
	w := mustWorld(t, command.Config{OnConflict: func() { conflicts.Add(1) }})
	o, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.DeliverOffer(ctx, w.system, o.ID(), 1); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() { defer wg.Done(); _, _, errs[2*i] = w.svc.AcceptOffer(ctx, w.customer, o.ID()) }()
		go func() { defer wg.Done(); _, _, errs[2*i+1] = w.svc.WithdrawOffer(ctx, w.reseller, o.ID()) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case domain.ErrorCode(err) == domain.ECONFLICT:
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d commands succeeded, want exactly 1", ok)
	}
	evs, _ := w.store.ReadStream(ctx, domain.OfferStream(o.ID()), 0, 100)
	if len(evs) != 4 {
		t.Fatalf("stream holds %d events, want 4 (created, dispatched, delivered, one decision)", len(evs))
	}
	t.Logf("append conflicts seen: %d", conflicts.Load())
}

func TestExecute_IdempotencySeed(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	o, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := w.system
	m.IdempotencySeed = "dispatch-event-1"
	_, first, err := w.svc.DeliverOffer(ctx, m, o.ID(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// The same seed again is a retry of the same command: it writes nothing
	// and answers as the first run did.
	_, again, err := w.svc.DeliverOffer(ctx, m, o.ID(), 1)
	if err != nil || again.Version != first.Version || again.Position != first.Position || len(again.Events) != 0 {
		t.Fatalf("second delivery: %+v, %v; want the first run's %+v and no events", again, err, first)
	}
	// Another seed is another command, which the domain refuses.
	m.IdempotencySeed = "dispatch-event-2"
	if _, _, err = w.svc.DeliverOffer(ctx, m, o.ID(), 1); !errors.Is(err, domain.ErrOfferNotWaiting) {
		t.Fatalf("delivery with another seed: %v, want ErrOfferNotWaiting", err)
	}
	evs, _ := w.store.ReadStream(ctx, domain.OfferStream(o.ID()), 2, 10)
	if len(evs) != 1 || evs[0].ID != command.DeterministicID("dispatch-event-1", domain.OfferStream(o.ID()), 0) {
		t.Fatalf("delivered events %+v (first %+v)", evs, first)
	}
}

func TestLookupToken(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator}}
	if _, err := w.svc.IssueToken(ctx, op, domain.TokenSpec{ID: "tok-1", Hash: "hash-1", Role: domain.RoleCustomer, Tenant: string(w.cust)}); err != nil {
		t.Fatal(err)
	}
	a, ok, err := w.svc.LookupToken(ctx, "hash-1")
	if err != nil || !ok || a.Role != domain.RoleCustomer || a.Tenant != string(w.cust) || a.Subject != "tok-1" {
		t.Fatalf("lookup: %+v %v %v", a, ok, err)
	}
	if _, ok, err := w.svc.LookupToken(ctx, "hash-2"); ok || err != nil {
		t.Fatalf("unknown hash: ok %v err %v", ok, err)
	}
	if _, err := w.svc.IssueToken(ctx, op, domain.TokenSpec{ID: "tok-2", Hash: "hash-3", Role: domain.RoleCustomer, Tenant: "no-such-customer"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("token for unknown customer: %v", err)
	}
}

func TestOffer_AsOf(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	o, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.DeliverOffer(ctx, w.system, o.ID(), 1); err != nil {
		t.Fatal(err)
	}
	got, v, err := w.svc.Offer(ctx, w.reseller.Actor, o.ID(), 2, time.Time{})
	if err != nil || v != 2 || got.Status() != domain.StatusWaiting {
		t.Fatalf("as of version 2: %v %d %v", got.Status(), v, err)
	}
	got, v, err = w.svc.Offer(ctx, w.reseller.Actor, o.ID(), 0, time.Time{})
	if err != nil || v != 3 || got.Status() != domain.StatusWaitingForConfirmation {
		t.Fatalf("now: %v %d %v", got.Status(), v, err)
	}
}

// TestExecute_ReusedSeedAnswersTheStoredState reuses an idempotency seed
// for another decision on a stream that moved on: the store takes the
// append for a retry and writes nothing, so the answer is what the stream
// holds, not the decision that was dropped.
func TestExecute_ReusedSeedAnswersTheStoredState(t *testing.T) {
	ctx := context.Background()
	w := mustWorld(t, command.Config{})
	m := w.customer
	m.IdempotencySeed = "key-42"
	first, res1, err := w.svc.SetWebhook(ctx, m, "http://127.0.0.1:1/first", true)
	if err != nil {
		t.Fatal(err)
	}
	second, res2, err := w.svc.SetWebhook(ctx, m, "http://127.0.0.1:1/second", true)
	if err != nil {
		t.Fatal(err)
	}
	url1, secret1 := first.Webhook()
	url2, secret2 := second.Webhook()
	if url2 != url1 || secret2 != secret1 || res2.Version != res1.Version || len(res2.Events) != 0 {
		t.Fatalf("second answer %s %s v%d %d events, want the stored %s %s v%d", url2, secret2, res2.Version, len(res2.Events), url1, secret1, res1.Version)
	}
}
