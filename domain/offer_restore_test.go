package domain_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// TestRestoreOffer checks that an offer restored from its view folds every
// further event exactly as the original does, at every step of lifecycles
// that touch every field.
func TestRestoreOffer(t *testing.T) {
	exp := t0.Add(48 * time.Hour)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	lifecycles := map[string][]domain.Event{
		"accepted": append(created(&exp),
			&domain.OfferDelivered{OfferID: offer1, Dispatch: 1, At: at(1)},
			&domain.OfferRead{OfferID: offer1, At: at(2)},
			&domain.OfferAccepted{OfferID: offer1, At: at(3)}),
		"rejected": append(created(nil),
			&domain.OfferDelivered{OfferID: offer1, Dispatch: 1, At: at(1)},
			&domain.OfferRejected{OfferID: offer1, Reason: domain.RejectionReason{Text: "zu teuer"}, At: at(2)}),
		"failed, redelivered, withdrawn": append(created(nil),
			&domain.OfferDeliveryFailed{OfferID: offer1, Dispatch: 1, Error: "503", Attempts: 8, At: at(1)},
			&domain.OfferDispatched{OfferID: offer1, Dispatch: 2, At: at(2)},
			&domain.OfferDelivered{OfferID: offer1, Dispatch: 2, At: at(3)},
			&domain.OfferWithdrawn{OfferID: offer1, At: at(4)}),
		"expired": append(created(&exp),
			&domain.OfferExpired{OfferID: offer1, At: exp}),
	}
	for name, events := range lifecycles {
		t.Run(name, func(t *testing.T) {
			orig := &domain.Offer{}
			for i, e := range events {
				restored := domain.RestoreOffer(orig.View())
				if diff := cmp.Diff(orig.View(), restored.View()); diff != "" {
					t.Fatalf("before event %d: restored view differs (-orig +restored):\n%s", i, diff)
				}
				orig.Apply(e)
				restored.Apply(e)
				if diff := cmp.Diff(orig.View(), restored.View()); diff != "" {
					t.Fatalf("after event %d (%s): (-orig +restored):\n%s", i, e.EventType(), diff)
				}
			}
		})
	}
}

// TestOfferView_ItemsAreCopies: the items of a view, and of the view an
// offer is restored from, are the caller's to change; the offer keeps its
// own.
func TestOfferView_ItemsAreCopies(t *testing.T) {
	o := &domain.Offer{}
	for _, e := range created(nil) {
		o.Apply(e)
	}
	want := o.View()
	if len(want.Items) == 0 {
		t.Fatal("created offer has no items")
	}
	v := o.View()
	v.Items[0].ProductName = "changed through a view"
	from := o.View()
	restored := domain.RestoreOffer(from)
	from.Items[0].ProductName = "changed after restoring"
	if diff := cmp.Diff(want, o.View()); diff != "" {
		t.Errorf("offer changed through its view (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(want, restored.View()); diff != "" {
		t.Errorf("restored offer changed through the view it came from (-before +after):\n%s", diff)
	}
}
