package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// benchLog is a log built for parts 3 and 4: one reseller, a template of
// two products, customers with ten offers each on average, and offers
// through whole lifecycles, about ten events per offer.
type benchLog struct {
	customers []domain.CustomerID
	offers    int
	events    uint64
	took      time.Duration
}

// buildLog writes a log of about events events into the SQLite file at
// path: a hundredth as many customers and a tenth as many offers. The setup
// (reseller, catalog, template, customers) goes through command.Service;
// the offers are decided by the domain in memory and appended one stream at
// a time, several streams in flight, since going through the command side
// would load each stream again before every event. The file runs with
// synchronous=NORMAL while it is built: it is scratch data, and the
// figures measured on it read it, they do not write it.
func buildLog(ctx context.Context, path string, events int, progressW io.Writer) (benchLog, error) {
	start := time.Now()
	store, err := sqlite.Open(ctx, path, sqlite.Config{Synchronous: "NORMAL"})
	if err != nil {
		return benchLog{}, err
	}
	defer store.Close()
	svc := command.NewService(command.NewHandler(store, command.Config{}))
	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "bench"}}
	r, _, err := svc.RegisterReseller(ctx, op, "Bench Reseller")
	if err != nil {
		return benchLog{}, err
	}
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(r.ID()), Subject: "bench"}}
	t, _, err := svc.CreateTemplate(ctx, rm, "Bench Template")
	if err != nil {
		return benchLog{}, err
	}
	for i, kind := range []domain.ProductKind{domain.KindModule, domain.KindCourse} {
		p, _, err := svc.AddProduct(ctx, rm, fmt.Sprintf("Bench Product %d", i), kind, []int{12, 24})
		if err != nil {
			return benchLog{}, err
		}
		if t, _, _, err = svc.AddTemplateItem(ctx, rm, t.ID(), p.ID(), 12, domain.ModeAbsolute, nil); err != nil {
			return benchLog{}, err
		}
	}
	nCustomers, nOffers := max(events/100, 1), max(events/10, 1)
	customers := make([]*domain.Customer, nCustomers)
	for i := range customers {
		if customers[i], _, err = svc.RegisterCustomer(ctx, rm, fmt.Sprintf("Bench Customer %d", i), ""); err != nil {
			return benchLog{}, err
		}
	}
	head, err := store.Head(ctx)
	if err != nil {
		return benchLog{}, err
	}

	g := offerGen{reseller: r.ID(), template: t, customers: customers, offers: nOffers,
		budget: int64(events) - int64(head), base: time.Now().Add(-365 * 24 * time.Hour)}
	bar := newProgress(progressW, "bench log", int64(events))
	var next atomic.Int64
	var written atomic.Uint64
	written.Store(head)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range cap(errs) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= nOffers || ctx.Err() != nil {
					return
				}
				streams, err := g.offer(i)
				if err == nil {
					err = appendStreams(ctx, store, streams)
				}
				if err != nil {
					errs <- fmt.Errorf("offer %d: %w", i, err)
					return
				}
				n := written.Add(uint64(countEvents(streams)))
				if i%1000 == 0 {
					bar.set(int64(n))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return benchLog{}, err
	}
	if err := ctx.Err(); err != nil {
		return benchLog{}, err
	}
	bar.set(int64(written.Load()))
	bar.done()
	lg := benchLog{offers: nOffers, events: written.Load(), took: time.Since(start)}
	for _, c := range customers {
		lg.customers = append(lg.customers, c.ID())
	}
	return lg, nil
}

// offerGen decides the events of one offer's lifecycle.
type offerGen struct {
	reseller  domain.ResellerID
	template  *domain.Template
	customers []*domain.Customer
	offers    int
	budget    int64 // events left to write among all offers
	base      time.Time
	spent     atomic.Int64
}

// genStream is one stream's new events.
type genStream struct {
	name   string
	events []eventstore.NewEvent
}

func countEvents(ss []genStream) int {
	n := 0
	for _, s := range ss {
		n += len(s.events)
	}
	return n
}

// offer returns the streams of offer i: an offer to customer i mod the
// customers, ending in one of five states (accepted and licensed, rejected,
// withdrawn, waiting for confirmation unread or read), after as many failed
// rounds of delivery as keep the log at about ten events per offer.
func (g *offerGen) offer(i int) ([]genStream, error) {
	c := g.customers[i%len(g.customers)]
	now := g.base.Add(time.Duration(i) * time.Minute)
	o := &domain.Offer{}
	reseller := domain.Actor{Role: domain.RoleReseller, Tenant: string(g.reseller), Subject: "bench"}
	customer := domain.Actor{Role: domain.RoleCustomer, Tenant: string(c.ID()), Subject: "bench"}
	system := domain.SystemActor("delivery")
	id := domain.OfferID(uuid.Must(uuid.NewV7()).String())
	var evs []eventstore.NewEvent
	step := func(actor domain.Actor, decide func(time.Time) ([]domain.Event, error)) error {
		now = now.Add(time.Second)
		des, err := decide(now)
		if err != nil {
			return err
		}
		for _, de := range des {
			o.Apply(de)
			ne, err := benchEvent(de, actor, now)
			if err != nil {
				return err
			}
			evs = append(evs, ne)
		}
		return nil
	}
	err := step(reseller, func(now time.Time) ([]domain.Event, error) {
		return o.Create(id, g.reseller, c, g.template, fmt.Sprintf("Offer %d from the benchmark", i), nil, now)
	})
	// Failed rounds fill the budget: each is two events (failed, dispatched).
	fate := i % 10
	base := []int64{5, 5, 5, 5, 4, 4, 3, 2, 2, 3}[fate] + 1
	left := g.budget - g.spent.Load()
	rounds := max((left/int64(max(g.offers-i, 1))-base)/2, 0)
	for r := int64(0); r < rounds && err == nil; r++ {
		err = step(system, func(now time.Time) ([]domain.Event, error) {
			return o.FailDelivery(o.Dispatch(), "the customer's webhook answered 503", 8, now)
		})
		if err == nil {
			err = step(reseller, o.Redeliver)
		}
	}
	if err == nil {
		err = step(system, func(now time.Time) ([]domain.Event, error) { return o.Deliver(o.Dispatch(), now) })
	}
	if err == nil && fate != 7 && fate != 8 && fate != 6 {
		err = step(customer, func(now time.Time) ([]domain.Event, error) { return o.Read(now, "") })
	}
	switch {
	case err != nil:
	case fate < 4:
		err = step(customer, func(now time.Time) ([]domain.Event, error) { return o.Accept(now, "") })
	case fate < 6:
		err = step(customer, func(now time.Time) ([]domain.Event, error) { return o.Reject("too expensive", now, "") })
	case fate == 6:
		err = step(reseller, o.Withdraw)
	}
	if err != nil {
		return nil, fmt.Errorf("decide: %w", err)
	}
	streams := []genStream{{name: domain.OfferStream(id), events: evs}}
	if o.Status() == domain.StatusAccepted {
		des, err := (&domain.Grant{}).GrantFor(o)
		if err != nil {
			return nil, fmt.Errorf("grant: %w", err)
		}
		ne, err := benchEvent(des[0], domain.SystemActor("grant"), now)
		if err != nil {
			return nil, err
		}
		// The stream the command side names grant-<offer id>.
		streams = append(streams, genStream{name: domain.GrantStream(id), events: []eventstore.NewEvent{ne}})
	}
	g.spent.Add(int64(countEvents(streams)))
	return streams, nil
}

// benchEvent encodes a domain event as the command side does.
func benchEvent(de domain.Event, actor domain.Actor, at time.Time) (eventstore.NewEvent, error) {
	data, err := json.Marshal(de)
	if err != nil {
		return eventstore.NewEvent{}, fmt.Errorf("encode %s: %w", de.EventType(), err)
	}
	return eventstore.NewEvent{
		ID: uuid.Must(uuid.NewV7()).String(), Type: de.EventType(), SchemaVersion: domain.SchemaVersion(de.EventType()), Data: data,
		Metadata: eventstore.Metadata{
			Actor:      actor,
			OccurredAt: at,
		},
	}, nil
}

func appendStreams(ctx context.Context, store eventstore.Store, streams []genStream) error {
	for _, s := range streams {
		if _, err := store.Append(ctx, s.name, eventstore.NoStream, s.events...); err != nil {
			return err
		}
	}
	return nil
}
