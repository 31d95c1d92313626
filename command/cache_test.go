package command_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
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
