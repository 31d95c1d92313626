package command_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/faultstore"
)

// faultWorld is a world whose every write passes through a faultstore.
func faultWorld(t *testing.T) (world, *faultstore.Store) {
	t.Helper()
	fs := faultstore.New(MustOpenStore(t))
	return mustWorldOn(t, fs, command.Config{}), fs
}

// logOf returns every event in the log.
func logOf(t *testing.T, s eventstore.Store) []eventstore.Event {
	t.Helper()
	evs, err := s.ReadAll(context.Background(), 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// countType counts the events of type typ in the log.
func countType(t *testing.T, s eventstore.Store, typ string) int {
	t.Helper()
	n := 0
	for _, e := range logOf(t, s) {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// deliveredOffer creates an offer and delivers it, so the customer may
// decide it.
func deliveredOffer(t *testing.T, w world) domain.OfferID {
	t.Helper()
	ctx := context.Background()
	o, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.svc.DeliverOffer(ctx, w.system, o.ID(), 1); err != nil {
		t.Fatal(err)
	}
	return o.ID()
}

func TestExecute_FailBeforeCommit(t *testing.T) {
	ctx := context.Background()
	w, fs := faultWorld(t)
	before := len(logOf(t, fs))
	fs.Add(faultstore.Rule{Fault: faultstore.FailBefore, Nth: 1, Type: domain.TypeOfferCreated})

	_, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil)
	if !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("CreateOffer = %v, want the injected fault", err)
	}
	if n := len(logOf(t, fs)); n != before {
		t.Fatalf("the log grew from %d to %d events though the append failed", before, n)
	}
	// The fault was one append only: the same command goes through now.
	if _, _, err := w.svc.CreateOffer(ctx, w.reseller, w.cust, w.template, "", nil); err != nil {
		t.Fatal(err)
	}
	if n := countType(t, fs, domain.TypeOfferCreated); n != 1 {
		t.Fatalf("%d offers created, want 1", n)
	}
}

// TestExecute_FailAfterCommitRetryIsNoOp is the lost acknowledgement: the
// events are stored but the caller sees an error and retries with the same
// idempotency seed. Each retry must write nothing and answer as the first
// run would have.
func TestExecute_FailAfterCommitRetryIsNoOp(t *testing.T) {
	ctx := context.Background()
	seeded := func(m command.Meta, seed string) command.Meta {
		m.IdempotencySeed = seed
		return m
	}
	cases := []struct {
		name string
		typ  string
		run  func(w world, offer domain.OfferID) (command.Result, error)
	}{
		{"create offer", domain.TypeOfferCreated, func(w world, offer domain.OfferID) (command.Result, error) {
			_, res, err := w.svc.CreateOffer(ctx, seeded(w.reseller, "create-1"), w.cust, w.template, "", nil)
			return res, err
		}},
		{"register customer", domain.TypeCustomerRegistered, func(w world, offer domain.OfferID) (command.Result, error) {
			_, res, err := w.svc.RegisterCustomer(ctx, seeded(w.reseller, "customer-1"), "Again", "")
			return res, err
		}},
		{"accept", domain.TypeOfferAccepted, func(w world, offer domain.OfferID) (command.Result, error) {
			_, res, err := w.svc.AcceptOffer(ctx, seeded(w.customer, "accept-1"), offer)
			return res, err
		}},
		{"withdraw", domain.TypeOfferWithdrawn, func(w world, offer domain.OfferID) (command.Result, error) {
			_, res, err := w.svc.WithdrawOffer(ctx, seeded(w.reseller, "withdraw-1"), offer)
			return res, err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, fs := faultWorld(t)
			offer := deliveredOffer(t, w)
			before := countType(t, fs, c.typ)
			fs.Add(faultstore.Rule{Fault: faultstore.FailAfter, Nth: 1, Type: c.typ})

			if _, err := c.run(w, offer); !errors.Is(err, faultstore.ErrInjected) {
				t.Fatalf("first run = %v, want the injected fault", err)
			}
			if n := countType(t, fs, c.typ); n != before+1 {
				t.Fatalf("%d %s events after the failed-after-commit append, want %d", n, c.typ, before+1)
			}
			head, _ := fs.Head(ctx)
			for retry := 1; retry <= 2; retry++ {
				res, err := c.run(w, offer)
				if err != nil {
					t.Fatalf("retry %d: %v, want the first run's result", retry, err)
				}
				if res.Position != head || len(res.Events) != 0 {
					t.Errorf("retry %d wrote %d events at position %d, want none and the first run's position %d", retry, len(res.Events), res.Position, head)
				}
			}
			if n := countType(t, fs, c.typ); n != before+1 {
				t.Fatalf("%d %s events after the retries, want %d: a retry was not a no-op", n, c.typ, before+1)
			}
		})
	}
}

func TestExecute_StalledAppend(t *testing.T) {
	w, fs := faultWorld(t)
	offer := deliveredOffer(t, w)
	fs.Add(faultstore.Rule{Fault: faultstore.Stall, Type: domain.TypeOfferAccepted, Times: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := w.svc.AcceptOffer(ctx, w.customer, offer)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AcceptOffer on a stalled log = %v, want the deadline", err)
	}
	if n := countType(t, fs, domain.TypeOfferAccepted); n != 0 {
		t.Fatalf("%d acceptances stored by a stalled append", n)
	}
	// The offer is still pending: withdrawing it wins now.
	if _, _, err := w.svc.WithdrawOffer(context.Background(), w.reseller, offer); err != nil {
		t.Fatal(err)
	}

	// A stall released lets the append through, and the domain still
	// decides: the offer is withdrawn, so no acceptance appears.
	fs.Add(faultstore.Rule{Fault: faultstore.Stall, Type: domain.TypeOfferCreated, Times: 1})
	done := make(chan error, 1)
	go func() {
		_, _, err := w.svc.CreateOffer(context.Background(), w.reseller, w.cust, w.template, "", nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("CreateOffer returned %v through a stall", err)
	case <-time.After(50 * time.Millisecond):
	}
	fs.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := countType(t, fs, domain.TypeOfferAccepted); n != 0 {
		t.Fatalf("%d acceptances of a withdrawn offer", n)
	}
	if got := len(fs.Injected()); got != 2 {
		t.Errorf("%d injected faults, want 2", got)
	}
}
