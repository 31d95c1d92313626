package process_test

import (
	"context"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// TestRevision_CompletesAnInterruptedRevision: an offer superseded without
// its successor (the revising command stopped between its two appends)
// gets the successor from the revision process, delivered like any offer,
// once; finishing the revision again writes nothing.
func TestRevision_CompletesAnInterruptedRevision(t *testing.T) {
	e := newProcessEnv(t, nil)
	ctx := context.Background()
	old := e.createOffer(t, nil)
	const successor domain.OfferID = "01a00000-0000-7000-8000-00000000beef"
	msg := "revised"
	// Only the first of the revision's two appends.
	_, _, err := command.Execute(ctx, e.svc.Handler(), domain.OfferStream(old), func() *domain.Offer { return &domain.Offer{} },
		command.Meta{Actor: e.reseller}, func(o *domain.Offer, now time.Time) ([]domain.Event, error) {
			return o.Revise(successor, domain.Revision{Message: &msg}, now)
		})
	if err != nil {
		t.Fatal(err)
	}

	e.start(t, fastRetries(3))
	processWait(t, eventually, func() bool {
		_, _, err := e.svc.Offer(ctx, domain.SystemActor("test"), successor, 0, time.Time{})
		return err == nil
	}, "the successor to be created")
	v := e.waitStatus(t, successor, domain.StatusWaitingForConfirmation, eventually)
	if v.Supersedes != old || v.Message != msg || v.CustomerID != domain.CustomerID(e.customer.Tenant) {
		t.Errorf("successor %+v", v)
	}
	created := e.ofType(t, domain.OfferStream(successor), domain.TypeOfferCreated)
	if len(created) != 1 {
		t.Fatalf("%d offer.created in the successor's stream, want 1", len(created))
	}
	if a := created[0].Metadata.Actor; a.Role != domain.RoleSystem || a.Subject != "revision" {
		t.Errorf("successor created by %+v, want the system's revision process", a)
	}
	if s := e.offer(t, old).Status; s != domain.StatusSuperseded {
		t.Errorf("old offer is %s", s)
	}

	// The revising command, retried now, finds it done.
	o, res, err := e.svc.CompleteRevision(ctx, command.Meta{Actor: e.reseller}, old)
	if err != nil || o.ID() != successor || len(res.Events) != 0 {
		t.Errorf("CompleteRevision again: %v, %d events, %v; want the successor, nothing written", o, len(res.Events), err)
	}
	if n := len(e.ofType(t, domain.OfferStream(successor), domain.TypeOfferCreated)); n != 1 {
		t.Errorf("%d offer.created after completing again, want 1", n)
	}
}

// TestRevision_CommandAndProcessWriteOnce: a revision made whole by the
// command is left alone by the process (the successor's events are stored
// once, with the command's actor).
func TestRevision_CommandAndProcessWriteOnce(t *testing.T) {
	e := newProcessEnv(t, nil)
	p := e.start(t, fastRetries(3))
	old := e.createOffer(t, nil)
	e.waitStatus(t, old, domain.StatusWaitingForConfirmation, eventually)
	next, _, err := e.svc.ReviseOffer(context.Background(), command.Meta{Actor: e.reseller}, old, command.Revision{})
	if err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, next.ID(), domain.StatusWaitingForConfirmation, eventually)
	e.waitIdle(t, p)
	processWait(t, eventually, func() bool {
		return e.checkpoint(t, "process.revision") >= e.events(t, domain.OfferStream(next.ID()))[0].Position
	},
		"the revision process to see the revision")
	// Either may write the successor first: the manager sees
	// offer.superseded as soon as it is stored, and the command appends the
	// successor right after it. Whoever wins, it is stored once, under the
	// revision's correlation.
	created := e.ofType(t, domain.OfferStream(next.ID()), domain.TypeOfferCreated)
	if len(created) != 1 {
		t.Fatalf("successor's offer.created: %+v, want one", created)
	}
	if a := created[0].Metadata.Actor; a != e.reseller && a != domain.SystemActor("revision") {
		t.Errorf("successor created by %+v, want the reseller or the revision process", a)
	}
	if n := len(e.ofType(t, domain.OfferStream(next.ID()), domain.TypeOfferDispatched)); n != 1 {
		t.Errorf("%d dispatches of the successor, want 1", n)
	}
}
