package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections"
)

// runBench drives whole offer lifecycles through the command side into a
// fresh data directory and reports commands per second and the rate of a
// read-model rebuild over the result: a figure anyone can reproduce on their
// own machine.
func runBench(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("bench", e)
	var sf storeFlags
	sf.register(fs)
	offers := fs.Int("offers", 500, "number of offer lifecycles to run")
	deliveries := fs.Int("deliveries", 100, "number of offers whose delivery latency is measured through the real delivery process (0: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *offers < 1 {
		return usageError{"--offers must be at least 1"}
	}
	if sf.eventstore == "" {
		if entries, err := os.ReadDir(sf.data); err == nil && len(entries) > 0 {
			return usageError{fmt.Sprintf("bench writes a new log: --data %s must be empty or missing", sf.data)}
		}
	}
	store, err := sf.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := command.NewService(command.NewHandler(store, command.Config{}))

	op := command.Meta{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "bench"}}
	r, _, err := svc.RegisterReseller(ctx, op, "Bench Reseller")
	if err != nil {
		return err
	}
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: string(r.ID()), Subject: "bench"}}
	p, _, err := svc.AddProduct(ctx, rm, "Bench Module", domain.KindModule, []int{12, 24})
	if err != nil {
		return err
	}
	t, _, err := svc.CreateTemplate(ctx, rm, "Bench Template")
	if err != nil {
		return err
	}
	if _, _, _, err := svc.AddTemplateItem(ctx, rm, t.ID(), p.ID(), 12, domain.ModeAbsolute, nil); err != nil {
		return err
	}
	c, _, err := svc.RegisterCustomer(ctx, rm, "Bench Customer", "")
	if err != nil {
		return err
	}
	cm := command.Meta{Actor: domain.Actor{Role: domain.RoleCustomer, Tenant: string(c.ID()), Subject: "bench"}}
	sys := command.Meta{Actor: domain.SystemActor("bench")}

	commands := 0
	bar := newProgress(e.stderr, "bench", int64(*offers))
	start := time.Now()
	for i := range *offers {
		o, _, err := svc.CreateOffer(ctx, rm, c.ID(), t.ID(), "Hello from the benchmark", nil)
		if err != nil {
			return err
		}
		steps := []func() error{
			func() error { _, _, err := svc.DeliverOffer(ctx, sys, o.ID(), 1); return err },
			func() error { _, _, err := svc.ReadOffer(ctx, cm, o.ID()); return err },
			func() error { _, _, err := svc.AcceptOffer(ctx, cm, o.ID()); return err },
			func() error { _, _, err := svc.GrantLicenses(ctx, sys, o.ID()); return err },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return fmt.Errorf("offer %d: %w", i, err)
			}
		}
		commands += 1 + len(steps)
		bar.set(int64(i + 1))
	}
	bar.done()
	elapsed := time.Since(start)
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "commands: %d in %s: %.0f commands/s, %.0f offer lifecycles/s, log head %d\n",
		commands, elapsed.Round(time.Millisecond), float64(commands)/elapsed.Seconds(), float64(*offers)/elapsed.Seconds(), head)

	db, err := projections.OpenDB(ctx, sf.path(readModelsFile))
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := projections.Rebuild(ctx, store, db, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rebuild: %d events in %s: %.0f events/s\n", res.Events, res.Duration.Round(time.Millisecond), res.Rate())
	if *deliveries > 0 {
		return benchDelivery(ctx, sf, store, svc, rm, c.ID(), t.ID(), *deliveries, e.stdout)
	}
	return nil
}
