package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/projections"
)

// benchDelivery measures how long the delivery process takes to place an
// offer without a webhook in the customer's inbox: from the create command's
// answer to offer.delivered in the log. It runs the real process managers
// against the bench's log.
func benchDelivery(ctx context.Context, sf storeFlags, store eventstore.Store, svc *command.Service, rm command.Meta,
	customer domain.CustomerID, template domain.TemplateID, n int, w io.Writer) error {
	db, err := openProcessDB(sf.path(processesFile))
	if err != nil {
		return err
	}
	defer db.Close()
	procs, err := projections.NewProcesses(ctx, projections.ProcessDeps{Service: svc, Store: store, DB: db}, projections.ProcessConfig{})
	if err != nil {
		return err
	}
	defer procs.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = procs.Run(runCtx) }()
	// Start-up (subscribing, catching up with the bench's log) is not
	// delivery latency: wait for the router, then deliver one offer unmeasured.
	select {
	case <-procs.Running():
	case <-ctx.Done():
		return ctx.Err()
	}
	lat := make([]time.Duration, 0, n)
	for i := range n + 1 {
		o, res, err := svc.CreateOffer(ctx, rm, customer, template, "latency probe", nil)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := waitDelivered(ctx, store, command.OfferStream(o.ID()), res.Position); err != nil {
			return err
		}
		if i > 0 {
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	fmt.Fprintf(w, "delivery without webhook: %d offers, p50 %s, p95 %s, max %s\n", n, q(0.5), q(0.95), lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}

// waitDelivered waits, woken by appends, until stream holds offer.delivered.
func waitDelivered(ctx context.Context, store eventstore.Store, stream string, after uint64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		evs, err := store.ReadStream(ctx, stream, 2, 10)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Type == domain.TypeOfferDelivered {
				return nil
			}
		}
		if err := store.Wait(ctx, after); err != nil {
			return fmt.Errorf("wait for delivery of %s: %w", stream, err)
		}
		if after, err = store.Head(ctx); err != nil {
			return err
		}
	}
}
