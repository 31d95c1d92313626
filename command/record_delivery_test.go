package command_test

import (
	"context"
	"errors"
	"testing"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// TestRecordDelivery_ReadsNoCustomer: recording a delivery appends the
// offer.delivered that DeliverOffer would, at the position it returns, and
// reads neither the customer's stream (DeliverOffer folds its erasure into
// the offer it returns) nor any other stream but the offer's; a second
// record of the same dispatch is refused as DeliverOffer refuses it.
func TestRecordDelivery_ReadsNoCustomer(t *testing.T) {
	ctx := context.Background()
	store := &wrapped{Store: MustOpenStore(t)}
	w := mustWorldOn(t, store, command.Config{})
	o, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := store.readsNow()
	res, err := w.svc.RecordDelivery(ctx, w.system, o.ID(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := store.readsNow() - before; n != 0 {
		t.Errorf("recording a delivery read customer or template streams %d times, want 0", n)
	}
	evs, err := store.ReadStream(ctx, domain.OfferStream(o.ID()), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != domain.TypeOfferDelivered || last.Position != res.Position || last.Version != res.Version {
		t.Errorf("the stream ends with %s at position %d version %d; want offer.delivered at %d version %d",
			last.Type, last.Position, last.Version, res.Position, res.Version)
	}
	if _, err := w.svc.RecordDelivery(ctx, w.system, o.ID(), 1); !errors.Is(err, domain.ErrOfferNotWaiting) {
		t.Errorf("recording the same dispatch again: %v, want ErrOfferNotWaiting", err)
	}
}
