package process_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections/process"
)

// pendingExpiries counts the rows of the expiry table for id.
func (e *processEnv) pendingExpiries(t *testing.T, id domain.OfferID) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(`SELECT COUNT(*) FROM expiry_pending WHERE offer_id = ?`, string(id)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestExpiry_DueOfferExpiresUndecidedOnly(t *testing.T) {
	clock := &processClock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newProcessEnv(t, clock.Now)
	cfg := fastRetries(8)
	cfg.Now = clock.Now
	var expiredHook atomic.Int32
	cfg.OnExpired = func() { expiredHook.Add(1) }
	p := e.start(t, cfg)

	exp := clock.Now().Add(time.Hour)
	due := e.createOffer(t, &exp)
	accepted := e.createOffer(t, &exp)
	never := e.createOffer(t, nil)
	e.deliverAndAccept(t, accepted)
	e.waitStatus(t, due, domain.StatusWaitingForConfirmation, 5*time.Second)
	e.waitStatus(t, never, domain.StatusWaitingForConfirmation, 5*time.Second)
	processWait(t, 5*time.Second, func() bool {
		return e.pendingExpiries(t, due) == 1 && e.pendingExpiries(t, accepted) == 0
	}, "the expiry table to hold the undecided offer only")

	// Not due yet: nothing happens.
	if n, err := p.Expiry().ExpireDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("ExpireDue before the deadline = %d, %v; want 0, nil", n, err)
	}

	clock.Advance(time.Hour)
	v := e.waitStatus(t, due, domain.StatusExpired, 5*time.Second)
	if v.ExpiredAt == nil || !v.ExpiredAt.Equal(exp) {
		t.Errorf("expired_at = %v, want %v", v.ExpiredAt, exp)
	}
	expired := e.ofType(t, domain.OfferStream(due), domain.TypeOfferExpired)
	if len(expired) != 1 {
		t.Fatalf("%d offer.expired events, want 1", len(expired))
	}
	if a := expired[0].Metadata.Actor; a.Role != domain.RoleSystem || a.Subject != "expiry" {
		t.Errorf("expired by %+v, want the system's expiry process", a)
	}
	if created := e.ofType(t, domain.OfferStream(due), domain.TypeOfferCreated)[0]; expired[0].Metadata.CausationID != created.ID {
		t.Errorf("causation %q, want the offer.created %q that scheduled it", expired[0].Metadata.CausationID, created.ID)
	}
	processWait(t, 5*time.Second, func() bool { return e.pendingExpiries(t, due) == 0 }, "the expiry row to go")

	// Another pass well after: still one expiry, and the others untouched.
	clock.Advance(time.Hour)
	if _, err := p.Expiry().ExpireDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.ofType(t, domain.OfferStream(due), domain.TypeOfferExpired)); n != 1 {
		t.Errorf("%d offer.expired events after another pass, want 1", n)
	}
	// The hook runs once the expiry's append has returned, which is after
	// its event became visible to the reads above: wait for it.
	processWait(t, 5*time.Second, func() bool { return expiredHook.Load() >= 1 }, "the expiry hook")
	if n := expiredHook.Load(); n != 1 {
		t.Errorf("expiry hook called %d times, want 1", n)
	}
	if s := e.offer(t, accepted).Status; s != domain.StatusAccepted {
		t.Errorf("accepted offer is %s", s)
	}
	if s := e.offer(t, never).Status; s != domain.StatusWaitingForConfirmation {
		t.Errorf("offer without expiry is %s", s)
	}
}

func TestExpiry_SurvivesRestart(t *testing.T) {
	clock := &processClock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newProcessEnv(t, clock.Now)
	cfg := fastRetries(8)
	cfg.Now = clock.Now
	_, stop := e.startStoppable(t, cfg)

	exp := clock.Now().Add(30 * time.Minute)
	id := e.createOffer(t, &exp)
	created := e.ofType(t, domain.OfferStream(id), domain.TypeOfferCreated)[0]
	processWait(t, 5*time.Second, func() bool {
		return e.pendingExpiries(t, id) == 1 && e.checkpoint(t, process.ExpiryConsumerGroup) >= created.Position
	}, "the expiry to be scheduled and its event checkpointed")
	stop()

	// While nothing runs, the deadline passes. The restarted manager does
	// not see offer.created again (its checkpoint is past it): only the
	// durable table remembers the expiry.
	clock.Advance(time.Hour)
	e.start(t, cfg)
	e.waitStatus(t, id, domain.StatusExpired, 5*time.Second)
	if n := len(e.ofType(t, domain.OfferStream(id), domain.TypeOfferExpired)); n != 1 {
		t.Errorf("%d offer.expired events, want 1", n)
	}
}

func TestExpiry_EarlierDeadlineWakesTheLoop(t *testing.T) {
	e := newProcessEnv(t, nil)
	cfg := fastRetries(8)
	cfg.ExpiryInterval = time.Hour // only the wake-up and the deadline timer can act in time
	e.start(t, cfg)

	exp := time.Now().Add(300 * time.Millisecond)
	id := e.createOffer(t, &exp)
	v := e.waitStatus(t, id, domain.StatusExpired, 3*time.Second)
	if late := v.ExpiredAt.Sub(exp); late < 0 || late > time.Second {
		t.Errorf("expired %v after its deadline, want within a second", late)
	}
}
