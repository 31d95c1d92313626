package projections_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/projections"
)

// appendPoison appends a customer.registered event whose data is valid JSON
// of the wrong shape (a number where the id is a string), as a bug or a
// hand edit might leave one, and returns its position.
func appendPoison(t *testing.T, e *rmEnv, stream string) uint64 {
	t.Helper()
	res, err := e.store.Append(context.Background(), stream, eventstore.NoStream, eventstore.NewEvent{
		ID: stream + "-1", Type: domain.TypeCustomerRegistered, SchemaVersion: 1,
		Data: json.RawMessage(`{"customer_id": 12, "reseller_id": ["x"]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}

// A poisoned event among good ones is parked: the read models apply the
// good ones after it, list it, count it, and start again after a restart.
func TestProjections_ParkPoisonedEvent(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	op := rmMeta(rmOperator())
	r := rmMust[*domain.Reseller](t)(e.svc.RegisterReseller(ctx, op, "Acme")).ID()
	rm := rmMeta(rmReseller(r))
	rmMust[*domain.Customer](t)(e.svc.RegisterCustomer(ctx, rm, "Before", ""))
	first := appendPoison(t, e, "customer-poison-1")
	rmMust[*domain.Customer](t)(e.svc.RegisterCustomer(ctx, rm, "After", ""))

	var parked atomic.Int32
	cfg := projections.Config{OnParked: func(handler string) {
		if handler != projections.ReadModelsConsumerGroup {
			t.Errorf("OnParked(%q)", handler)
		}
		parked.Add(1)
	}}
	// Start catches up through the backlog in one batch, which holds the
	// poisoned event: it returns, so serve starts.
	p := e.run(t, e.db, cfg)
	e.waitHead(t, e.db)

	// Live: another poisoned event and a good one after it.
	second := appendPoison(t, e, "customer-poison-2")
	rmMust[*domain.Customer](t)(e.svc.RegisterCustomer(ctx, rm, "Live", ""))
	e.waitHead(t, e.db)

	names := func(db *projections.DB) []string {
		page, err := db.Customers(ctx, r, domain.PageRequest{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range page.Items {
			out = append(out, c.Name)
		}
		return out
	}
	if got := strings.Join(names(e.db), ","); !strings.Contains(got, "Before") || !strings.Contains(got, "After") || !strings.Contains(got, "Live") {
		t.Errorf("customers = %s, want Before, After and Live", got)
	}
	checkParked := func(db *projections.DB) {
		t.Helper()
		list, err := db.Parked(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Position != first || list[1].Position != second {
			t.Fatalf("parked = %+v, want positions %d and %d", list, first, second)
		}
		for _, pe := range list {
			if pe.Type != domain.TypeCustomerRegistered || !strings.Contains(pe.Error, "decode") || pe.Stream == "" {
				t.Errorf("parked %+v", pe)
			}
		}
		if n, err := db.ParkedCount(ctx); err != nil || n != 2 {
			t.Errorf("ParkedCount = %d, %v", n, err)
		}
	}
	checkParked(e.db)
	if n := parked.Load(); n != 2 {
		t.Errorf("OnParked called %d times, want 2", n)
	}

	// Restart on the same file: it starts, nothing is parked again.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	path := e.db.Path()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	db := rmOpenDB(t, path)
	e.run(t, db, cfg)
	rmMust[*domain.Customer](t)(e.svc.RegisterCustomer(ctx, rm, "Restarted", ""))
	e.waitHead(t, db)
	checkParked(db)
	if n := parked.Load(); n != 2 {
		t.Errorf("OnParked called %d times after the restart, want 2", n)
	}
	if got := strings.Join(names(db), ","); !strings.Contains(got, "Restarted") {
		t.Errorf("customers after restart = %s", got)
	}

	// A rebuild parks the same events in the new file.
	checkParked(e.rebuilt(t, "rebuilt.db"))
}

// A parked event is reported before the read models show its position:
// serve logs that it listens once they reach the log's head, and a client
// that then reads /metrics must find the event counted.
func TestProjections_ParkedReportedBeforeCaughtUp(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	pos := appendPoison(t, e, "customer-poison-1")
	var parked atomic.Int32
	e.run(t, e.db, projections.Config{OnParked: func(string) {
		if e.db.CaughtUp(ctx, pos) {
			t.Errorf("the read models were at position %d before the event parked there was reported", pos)
		}
		parked.Add(1)
	}})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.db.WaitFor(wctx, pos); err != nil {
		t.Fatal(err)
	}
	if n := parked.Load(); n != 1 {
		t.Errorf("OnParked called %d times once the read models reached the parked event, want 1", n)
	}
}
