package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/projections"
)

// mendEvent rewrites the data of the stored event at position, standing in
// for the fix that makes a parked event apply (a new decoder or handler):
// the test has no other way to make the same event good.
func mendEvent(t *testing.T, e *rmEnv, position uint64, data string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(e.dir, "events.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE events SET data = ? WHERE position = ?`, data, int64(position)); err != nil {
		t.Fatal(err)
	}
}

// TestRetryParked: parked events are retried in log order while the
// projections run: one mended is applied and leaves the list, one still
// broken fails again and stays, and one whose stream moved on without it is
// held; retrying by position touches only that one.
func TestRetryParked(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	r := rmMust[*domain.Reseller](t)(e.svc.RegisterReseller(ctx, rmMeta(rmOperator()), "Acme")).ID()
	e.run(t, e.db, projections.Config{})

	mended := appendPoison(t, e, "customer-mended")
	broken := appendPoison(t, e, "customer-broken")
	held := appendPoison(t, e, "customer-held")
	if _, err := e.store.Append(ctx, "customer-held", 1, eventstore.NewEvent{
		ID: "held-2", Type: domain.TypeCustomerWebhookSet, SchemaVersion: 1,
		Data: json.RawMessage(`{"customer_id":"held","url":"https://example.com/hook","secret":"s"}`),
	}); err != nil {
		t.Fatal(err)
	}
	e.waitHead(t, e.db)
	if n, err := e.db.ParkedCount(ctx); err != nil || n != 3 {
		t.Fatalf("parked %d, %v; want 3", n, err)
	}
	mendEvent(t, e, mended, `{"customer_id":"mended","reseller_id":"`+string(r)+`","name":"Mended"}`)
	// The fix comes with a new program, whose store has read nothing yet:
	// the running one keeps the newest events it read (which the log's
	// immutability allows and the rewrite above breaks). The retries and
	// the rebuild below read through such a store.
	e.store = seal.New(e.store.Raw(), e.store.Keys())

	t.Run("ByPosition", func(t *testing.T) {
		res, err := e.db.RetryParked(ctx, e.store, []uint64{broken})
		if err != nil || len(res) != 1 || res[0].Position != broken || res[0].Outcome != projections.RetryFailed || !strings.Contains(res[0].Reason, "decode") {
			t.Fatalf("retry of %d: %+v, %v", broken, res, err)
		}
		if _, err := e.db.RetryParked(ctx, e.store, []uint64{e.head(t)}); err == nil {
			t.Fatal("retry of a position that is not parked: no error")
		}
	})

	res, err := e.db.RetryParked(ctx, e.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]string{}
	for _, x := range res {
		got[x.Position] = x.Outcome
	}
	want := map[uint64]string{mended: projections.RetryApplied, broken: projections.RetryFailed, held: projections.RetryHeld}
	if len(res) != 3 || got[mended] != want[mended] || got[broken] != want[broken] || got[held] != want[held] {
		t.Fatalf("retry: %+v, want %v", res, want)
	}
	if !slices.IsSortedFunc(res, func(a, b projections.RetryResult) int { return int(a.Position) - int(b.Position) }) {
		t.Errorf("retried out of log order: %+v", res)
	}
	c, err := e.db.Customer(ctx, r, "mended")
	if err != nil || c.Name != "Mended" {
		t.Fatalf("the mended customer: %+v, %v", c, err)
	}
	list, err := e.db.Parked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Position != broken || list[1].Position != held || list[0].Tries != 3 {
		// broken: parked after one try (it does not decode), then two retries.
		t.Fatalf("still parked: %+v", list)
	}

	// The read models go on: a later event is applied, and the applied
	// event is not applied twice by anything (the checkpoints did not move
	// back).
	rmMust[*domain.Customer](t)(e.svc.RegisterCustomer(ctx, rmMeta(rmReseller(r)), "Later", ""))
	e.waitHead(t, e.db)
	page, err := e.db.Customers(ctx, r, domain.PageRequest{Limit: 10})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("customers after the retry: %+v, %v", page.Items, err)
	}
	// A rebuild of the mended log holds what the retry made.
	rebuilt := e.rebuilt(t, "rebuilt.db")
	if c, err := rebuilt.Customer(ctx, r, "mended"); err != nil || c.Name != "Mended" {
		t.Fatalf("rebuilt: %+v, %v", c, err)
	}
}
