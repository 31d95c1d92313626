package command_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// tailReads is a real store that records from which version customer
// streams are read.
type tailReads struct {
	eventstore.Store
	mu    sync.Mutex
	after []uint64
}

func (r *tailReads) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	if strings.HasPrefix(stream, "customer-") {
		r.mu.Lock()
		r.after = append(r.after, after)
		r.mu.Unlock()
	}
	return r.Store.ReadStream(ctx, stream, after, limit)
}

// TestHandler_StreamCache: a customer read again is read from the log only
// after the version already held, and what another writer (another handler,
// as another process would be) appended meanwhile is seen at once.
func TestHandler_StreamCache(t *testing.T) {
	store := &tailReads{Store: MustOpenStore(t)}
	w := mustWorldOn(t, store, command.Config{})
	other := command.NewService(command.NewHandler(store, command.Config{}))
	ctx := context.Background()

	_, v, err := w.svc.Customer(ctx, w.cust)
	if err != nil || v != 1 {
		t.Fatalf("customer at version %d: %v", v, err)
	}
	if _, _, err := other.SetWebhook(ctx, w.customer, "https://example.com/hook", false); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.after = nil
	store.mu.Unlock()
	c, v, err := w.svc.Customer(ctx, w.cust)
	if err != nil {
		t.Fatal(err)
	}
	if url, _ := c.Webhook(); url != "https://example.com/hook" || v != 2 {
		t.Errorf("after another handler set a webhook: url %q at version %d, want it at version 2", url, v)
	}
	store.mu.Lock()
	after := store.after
	store.mu.Unlock()
	if len(after) != 1 || after[0] != 1 {
		t.Errorf("the customer stream was read after versions %v, want [1]: only its tail", after)
	}

	// Sending offers reads the customer and the template from the cache
	// while another handler changes them, under -race.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if _, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "hi", nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if _, _, err := other.RemoveWebhook(ctx, w.customer); err != nil {
				t.Error(err)
			}
			if _, _, err := other.SetWebhook(ctx, w.customer, "https://example.com/hook", false); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	c, v, err = w.svc.Customer(ctx, w.cust)
	if url, _ := c.Webhook(); err != nil || v != 22 || url == "" {
		t.Errorf("customer at version %d with webhook %q (%v), want version 22 with the webhook", v, url, err)
	}
	if _, _, err := w.svc.Customer(ctx, domain.CustomerID("nobody")); err == nil {
		t.Error("an unknown customer loaded")
	}
}

// wrapped is a real store seen through a wrapper that shows it through Raw,
// as seal.Store does, and records the customer and template streams read.
type wrapped struct {
	eventstore.Store
	mu    sync.Mutex
	reads int
}

func (w *wrapped) Raw() eventstore.Store { return w.Store }

func (w *wrapped) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	if strings.HasPrefix(stream, "customer-") || strings.HasPrefix(stream, "template-") {
		w.mu.Lock()
		w.reads++
		w.mu.Unlock()
	}
	return w.Store.ReadStream(ctx, stream, after, limit)
}

func (w *wrapped) readsNow() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reads
}

// TestCreateOffer_CachedReadsChecked: over a store that checks an
// append's conditions, an offer sent again reads neither its customer nor
// its template from the log, and what another process (another store on
// the same file) changed meanwhile never lets through an offer that the
// log as it stands refuses: a change that does not matter costs a second
// round, one that does refuses the offer, and nothing is written twice.
func TestCreateOffer_CachedReadsChecked(t *testing.T) {
	ctx := context.Background()
	open := sharedFile(t)
	store := &wrapped{Store: open()}
	var conflicts atomic.Int64
	w := mustWorldOn(t, store, command.Config{OnConflict: func() { conflicts.Add(1) }})
	other := command.NewService(command.NewHandler(open(), command.Config{}))
	offers := func() int {
		n := 0
		all, err := w.store.ReadAll(ctx, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if e.Type == domain.TypeOfferCreated {
				n++
			}
		}
		return n
	}

	if _, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "first", nil); err != nil {
		t.Fatal(err)
	}
	before := store.readsNow()
	if _, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "second", nil); err != nil {
		t.Fatal(err)
	}
	if n := store.readsNow() - before; n != 0 {
		t.Errorf("the second offer read the customer or the template %d times, want none", n)
	}

	// A change of the customer elsewhere: the cached read is refused by
	// its condition and the offer is sent on a current read.
	if _, _, err := other.SetWebhook(ctx, w.customer, "https://example.com/hook", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "third", nil); err != nil {
		t.Fatalf("after another process changed the customer: %v", err)
	}
	if got := conflicts.Load(); got != 1 {
		t.Errorf("%d conflicts counted, want the one of the outdated customer", got)
	}
	if n := offers(); n != 3 {
		t.Errorf("%d offers stored, want 3", n)
	}

	// The template archived elsewhere: the cache still holds it live, the
	// log does not, and the log wins.
	if _, _, err := other.ArchiveTemplate(ctx, w.reseller, w.template); err != nil {
		t.Fatal(err)
	}
	_, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "fourth", nil)
	var refused *domain.Error
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "archived") {
		t.Fatalf("an offer of a template archived by another process: %v, want the domain's refusal", err)
	}
	if n := offers(); n != 3 {
		t.Errorf("%d offers stored, want still 3", n)
	}
}

// TestExecute_CachedOfferChecked: the commands of an offer decide first on
// the offer as this handler last wrote it, reading nothing; what another
// process (another store on the same file) did to the offer meanwhile is
// never overruled: a command the log refuses stays refused, one it allows
// goes through though the cache would refuse it, and a seeded command whose
// earlier run the other process stored is answered as that retry.
func TestExecute_CachedOfferChecked(t *testing.T) {
	ctx := context.Background()
	open := sharedFile(t)
	offerReads := &wrappedOffers{wrapped: wrapped{Store: open()}}
	w := mustWorldOn(t, offerReads, command.Config{})
	other := command.NewService(command.NewHandler(open(), command.Config{}))
	seeded := func(m command.Meta, seed string) command.Meta {
		m.IdempotencySeed = seed
		return m
	}
	newOffer := func() domain.OfferID {
		t.Helper()
		o, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "hi", nil)
		if err != nil {
			t.Fatal(err)
		}
		return o.ID()
	}

	t.Run("warm", func(t *testing.T) {
		id := newOffer()
		before := offerReads.offers.Load()
		if _, _, err := w.svc.DeliverOffer(ctx, seeded(w.system, "deliver-warm"), id, 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.AcceptOffer(ctx, w.customer, id); err != nil {
			t.Fatal(err)
		}
		if n := offerReads.offers.Load() - before; n != 0 {
			t.Errorf("delivering and accepting an offer this handler made read its stream %d times, want none", n)
		}
	})
	t.Run("refused by the log", func(t *testing.T) {
		id := newOffer()
		if _, _, err := w.svc.DeliverOffer(ctx, w.system, id, 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := other.WithdrawOffer(ctx, w.reseller, id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.AcceptOffer(ctx, w.customer, id); err == nil {
			t.Fatal("a customer accepted an offer another process had withdrawn")
		}
		o, _, err := other.Offer(ctx, w.reseller.Actor, id, 0, time.Time{})
		if err != nil || o.Status() != domain.StatusWithdrawn {
			t.Fatalf("offer after the refused accept: %v, %v; want withdrawn", o.Status(), err)
		}
	})
	t.Run("allowed by the log", func(t *testing.T) {
		id := newOffer()
		if _, _, err := other.DeliverOffer(ctx, w.system, id, 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.AcceptOffer(ctx, w.customer, id); err != nil {
			t.Fatalf("accepting an offer another process delivered: %v", err)
		}
	})
	t.Run("seeded retry run elsewhere", func(t *testing.T) {
		id := newOffer()
		if _, _, err := w.svc.DeliverOffer(ctx, w.system, id, 1); err != nil {
			t.Fatal(err)
		}
		_, first, err := other.AcceptOffer(ctx, seeded(w.customer, "accept-1"), id)
		if err != nil {
			t.Fatal(err)
		}
		_, again, err := w.svc.AcceptOffer(ctx, seeded(w.customer, "accept-1"), id)
		if err != nil || len(again.Events) != 0 || again.Position != first.Position || again.Version != first.Version {
			t.Fatalf("retry = %+v, %v; want no events at the first run's %+v", again, err, first)
		}
	})
}

// wrappedOffers is wrapped that also counts the offer streams read.
type wrappedOffers struct {
	wrapped
	offers atomic.Int64
}

func (w *wrappedOffers) ReadStream(ctx context.Context, stream string, after uint64, limit int) ([]eventstore.Event, error) {
	if strings.HasPrefix(stream, "offer-") {
		w.offers.Add(1)
	}
	return w.wrapped.ReadStream(ctx, stream, after, limit)
}

// sharedFile returns a function opening a store on one and the same new
// file each time, as processes sharing a log do.
func sharedFile(t *testing.T) func() *sqlite.Store {
	path := filepath.Join(t.TempDir(), "events.db")
	return func() *sqlite.Store {
		s, err := sqlite.Open(context.Background(), path, sqlite.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}
