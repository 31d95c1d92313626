package process_test

import (
	"context"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections/process"
)

func TestGrant_OnceHoweverOftenAcceptanceIsSeen(t *testing.T) {
	e := newProcessEnv(t, nil)
	p, stop := e.startStoppable(t, fastRetries(8))

	id := e.createOffer(t, nil)
	e.deliverAndAccept(t, id)
	grantStream := "grant-" + string(id)
	processWait(t, 5*time.Second, func() bool {
		return len(e.ofType(t, grantStream, domain.TypeLicensesGranted)) > 0
	}, "the licenses to be granted")
	accepted := e.ofType(t, domain.OfferStream(id), domain.TypeOfferAccepted)[0]
	granted := e.ofType(t, grantStream, domain.TypeLicensesGranted)
	g := decode[domain.LicensesGranted](t, granted[0])
	if g.OfferID != id || string(g.CustomerID) != e.customer.Tenant || len(g.Licenses) != 1 || g.Licenses[0].ValidUntil == nil {
		t.Errorf("grant = %+v, want one absolute license for the customer", g)
	}
	if md := granted[0].Metadata; md.CausationID != accepted.ID || md.Actor.Subject != "grant" || md.Actor.Role != domain.RoleSystem {
		t.Errorf("grant metadata = %+v, want caused by %s, by the system's grant process", md, accepted.ID)
	}

	// The same acceptance handled twice more, directly.
	for range 2 {
		if err := p.Grant().Handle(context.Background(), accepted); err != nil {
			t.Fatalf("handling the acceptance again: %v", err)
		}
	}
	if n := len(e.ofType(t, grantStream, domain.TypeLicensesGranted)); n != 1 {
		t.Fatalf("%d licenses.granted events after handling the acceptance again, want 1", n)
	}

	// And once more from the start of the log, as after a lost checkpoint.
	processWait(t, 5*time.Second, func() bool {
		return e.checkpoint(t, process.GrantConsumerGroup) >= accepted.Position
	}, "the acceptance to be checkpointed")
	stop()
	e.resetCheckpoint(t, process.GrantConsumerGroup)
	e.start(t, fastRetries(8))
	processWait(t, 5*time.Second, func() bool {
		return e.checkpoint(t, process.GrantConsumerGroup) >= accepted.Position
	}, "the replayed acceptance to be handled")
	if n := len(e.ofType(t, grantStream, domain.TypeLicensesGranted)); n != 1 {
		t.Errorf("%d licenses.granted events after a replay, want 1", n)
	}
}
