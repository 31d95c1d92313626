package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/offerflow/offerflow/command"
	"github.com/offerflow/offerflow/domain"
)

// demoMonths is how many months before the current one the demo's history
// covers, and demoOffersPerMonth how many offers each of them holds.
const (
	demoMonths         = 6
	demoOffersPerMonth = 9
)

// demoReasons are the rejection reasons of the demo's history.
var demoReasons = []string{"Zu teuer", "Kein Bedarf", "Bereits bei einem anderen Anbieter", "Zu teuer", "Budget erst im nächsten Jahr"}

// demoClock is the settable clock of the history's commands.
type demoClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *demoClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// seedDemoHistory writes several months of offers of reseller's templates
// to its customers, each sent, delivered and mostly decided at a time in
// the past (the commands run on a clock set back), so that the reseller's
// dashboard has something to show on the first start. Everything is
// derived from the offer's number: two runs write the same story, shifted
// to the months before the current one. The offers are delivered here, at
// their time; the delivery process later finds them delivered and leaves
// them.
func seedDemoHistory(ctx context.Context, svc *command.Service, reseller string, templates, customers []string) error {
	clock := &demoClock{}
	past := command.NewService(command.NewHandler(svc.Handler().Store(), command.Config{Now: clock.Now}))
	rm := command.Meta{Actor: domain.Actor{Role: domain.RoleReseller, Tenant: reseller, Subject: "demo"}}
	system := command.Meta{Actor: domain.SystemActor("delivery")}
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -demoMonths, 0)
	for n := range demoMonths * demoOffersPerMonth {
		month, i := n/demoOffersPerMonth, n%demoOffersPerMonth
		sent := start.AddDate(0, month, 1+3*i).Add(time.Duration(8+n%9) * time.Hour)
		customer := domain.CustomerID(customers[n%len(customers)])
		template := domain.TemplateID(templates[(n/3)%len(templates)])
		var expires *time.Time
		if n%7 == 3 {
			e := sent.Add(14 * 24 * time.Hour)
			expires = &e
		}
		clock.Set(sent)
		o, _, err := past.CreateOffer(ctx, rm, customer, template, "Unser Angebot für Ihre Pflichtschulungen.", expires)
		if err != nil {
			return fmt.Errorf("offer %d: %w", n, err)
		}
		clock.Set(sent.Add(time.Minute))
		if _, err := past.RecordDelivery(ctx, system, o.ID(), 1); err != nil {
			return fmt.Errorf("deliver offer %d: %w", n, err)
		}
		// Later months decide more often, and template 1 sells better.
		decided := sent.Add(time.Duration(6+(n*37)%150) * time.Hour)
		cm := command.Meta{Actor: domain.Actor{Role: domain.RoleCustomer, Tenant: string(customer), Subject: "demo"}}
		clock.Set(decided)
		switch {
		case n%7 == 3: // never decided: it expired
			clock.Set(*expires)
			_, _, err = past.ExpireOffer(ctx, command.Meta{Actor: domain.SystemActor("expiry")}, o.ID())
		case n%11 == 5:
			_, _, err = past.WithdrawOffer(ctx, rm, o.ID())
		case (n/3)%len(templates) == 0 && n%3 != 2, n%5 == 0:
			_, _, err = past.AcceptOffer(ctx, cm, o.ID())
		default:
			_, _, err = past.RejectOffer(ctx, cm, o.ID(), demoReasons[n%len(demoReasons)])
		}
		if err != nil {
			return fmt.Errorf("decide offer %d: %w", n, err)
		}
	}
	return nil
}
