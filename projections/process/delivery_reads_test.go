package process_test

import (
	"context"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// TestDelivery_ReadsTheQueueOnlyWhenAJobMayStart pins the scheduler's cost
// per offer (issue 7): it read the queue, a recursive query with two window
// functions, on every wake-up, so twice per offer (enqueued, finished) and
// on any wake-up at all. Now a finished job with nothing waiting behind it,
// and a wake-up with nothing new, read nothing: offers delivered one after
// the other cost one read each, and a storm of wake-ups none. The clock
// stands still, so no periodic rescan comes in between.
func TestDelivery_ReadsTheQueueOnlyWhenAJobMayStart(t *testing.T) {
	clock := &processClock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newProcessEnv(t, clock.Now)
	cfg := fastRetries(3)
	cfg.Now = clock.Now
	p := e.start(t, cfg)
	m := p.Delivery()
	deliver := func() {
		t.Helper()
		id := e.createOffer(t, nil)
		processWait(t, eventually, func() bool {
			return len(e.ofType(t, domain.OfferStream(id), domain.TypeOfferDelivered)) == 1
		}, "offer "+string(id)+" to be delivered")
	}

	// settle waits for a pass that starts after every job ended, so that
	// whatever marked the queue before is read by then.
	settle := func() {
		t.Helper()
		e.waitIdle(t, p)
		passes, _ := m.QueueReads()
		m.Wake()
		processWait(t, eventually, func() bool { n, _ := m.QueueReads(); return n > passes }, "a pass")
	}
	// The first offer teaches the scheduler that the customer has no
	// webhook, which is worth a read of its own.
	deliver()
	settle()
	_, before := m.QueueReads()
	const offers = 10
	for range offers {
		deliver()
	}
	settle()
	passes, reads := m.QueueReads()
	if n := reads - before; n > offers {
		t.Errorf("%d reads of the queue for %d offers delivered one after the other, want at most one each", n, offers)
	}

	// Each wake-up waits for a pass to take it, so that every one is
	// seen: none reads the queue, nothing having changed.
	const wakes = 50
	for range wakes {
		want := passes + 1
		m.Wake()
		processWait(t, eventually, func() bool { passes, _ = m.QueueReads(); return passes >= want }, "a pass")
	}
	if _, after := m.QueueReads(); after != reads {
		t.Errorf("%d wake-ups with nothing new read the queue %d times, want none", wakes, after-reads)
	}
}

// TestDelivery_StartsAFreshJobWithoutReadingTheQueue: a job that the
// handler's batch enqueues, with room and nothing else waiting, starts once
// the batch commits, without the scheduler reading it back from the queue
// (issue 7: from the enqueue's commit to the job's start was the largest
// stage of the slowest deliveries at 1,000 offers/s). Offers delivered one
// after the other then cost no read of the queue at all; the clock stands
// still, so no periodic rescan comes in between.
func TestDelivery_StartsAFreshJobWithoutReadingTheQueue(t *testing.T) {
	clock := &processClock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newProcessEnv(t, clock.Now)
	cfg := fastRetries(3)
	cfg.Now = clock.Now
	p := e.start(t, cfg)
	m := p.Delivery()
	deliver := func() {
		t.Helper()
		id := e.createOffer(t, nil)
		processWait(t, eventually, func() bool {
			return len(e.ofType(t, domain.OfferStream(id), domain.TypeOfferDelivered)) == 1
		}, "offer "+string(id)+" to be delivered")
	}
	settle := func() {
		t.Helper()
		e.waitIdle(t, p)
		passes, _ := m.QueueReads()
		m.Wake()
		processWait(t, eventually, func() bool { n, _ := m.QueueReads(); return n > passes }, "a pass")
	}
	// The first offer teaches the scheduler that the customer has no
	// webhook, which is worth a read of its own.
	deliver()
	settle()
	_, before := m.QueueReads()
	const offers = 10
	for range offers {
		deliver()
	}
	settle()
	if _, after := m.QueueReads(); after != before {
		t.Errorf("%d reads of the queue for %d offers delivered one after the other, want none", after-before, offers)
	}
	jobs, err := m.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if jobs["done"] != offers+1 || jobs["pending"] != 0 {
		t.Errorf("jobs by state %v, want %d done", jobs, offers+1)
	}
}
