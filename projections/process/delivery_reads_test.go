package process_test

import (
	"context"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections/process"
)

// queueReadsRig is the delivery manager of a process environment whose
// clock stands still (so no periodic rescan of the queue comes in between),
// with one offer already delivered: the first teaches the scheduler that the
// customer has no webhook, which is worth a read of its own.
type queueReadsRig struct {
	e *processEnv
	p *process.Processes
	m *process.DeliveryManager
}

func newQueueReadsRig(t *testing.T) *queueReadsRig {
	t.Helper()
	clock := &processClock{t: time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC)}
	e := newProcessEnv(t, clock.Now)
	cfg := fastRetries(3)
	cfg.Now = clock.Now
	p := e.start(t, cfg)
	r := &queueReadsRig{e: e, p: p, m: p.Delivery()}
	r.deliver(t)
	r.settle(t)
	return r
}

// deliver creates an offer and waits for it to be delivered.
func (r *queueReadsRig) deliver(t *testing.T) {
	t.Helper()
	id := r.e.createOffer(t, nil)
	processWait(t, eventually, func() bool {
		return len(r.e.ofType(t, domain.OfferStream(id), domain.TypeOfferDelivered)) == 1
	}, "offer "+string(id)+" to be delivered")
}

// settle waits for a pass that starts after every job ended, so that
// whatever marked the queue before is read by then.
func (r *queueReadsRig) settle(t *testing.T) {
	t.Helper()
	r.e.waitIdle(t, r.p)
	passes, _ := r.m.QueueReads()
	r.m.Wake()
	processWait(t, eventually, func() bool { n, _ := r.m.QueueReads(); return n > passes }, "a pass")
}

// TestDelivery_StartsAFreshJobWithoutReadingTheQueue: a job that the
// handler's batch enqueues, with room and nothing else waiting, starts once
// the batch commits, without the scheduler reading it back from the queue
// (issue 7: from the enqueue's commit to the job's start was the largest
// stage of the slowest deliveries at 1,000 offers/s; before that, the
// scheduler read the queue, a recursive query with two window functions,
// twice per offer). Offers delivered one after the other then cost no read
// of the queue at all.
func TestDelivery_StartsAFreshJobWithoutReadingTheQueue(t *testing.T) {
	r := newQueueReadsRig(t)
	_, before := r.m.QueueReads()
	const offers = 10
	for range offers {
		r.deliver(t)
	}
	r.settle(t)
	if _, after := r.m.QueueReads(); after != before {
		t.Errorf("%d reads of the queue for %d offers delivered one after the other, want none", after-before, offers)
	}
	jobs, err := r.m.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if jobs["done"] != offers+1 || jobs["pending"] != 0 {
		t.Errorf("jobs by state %v, want %d done", jobs, offers+1)
	}
}

// TestDelivery_ReadsTheQueueOnlyWhenAJobMayStart: a wake-up with nothing
// new reads nothing (the scheduler read the queue on every wake-up).
func TestDelivery_ReadsTheQueueOnlyWhenAJobMayStart(t *testing.T) {
	r := newQueueReadsRig(t)
	passes, reads := r.m.QueueReads()
	// Each wake-up waits for a pass to take it, so that every one is
	// seen: none reads the queue, nothing having changed.
	const wakes = 50
	for range wakes {
		want := passes + 1
		r.m.Wake()
		processWait(t, eventually, func() bool { passes, _ = r.m.QueueReads(); return passes >= want }, "a pass")
	}
	if _, after := r.m.QueueReads(); after != reads {
		t.Errorf("%d wake-ups with nothing new read the queue %d times, want none", wakes, after-reads)
	}
}
