package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// poison retry reads the parked events through the sealing store, as
// serve does: a customer's parked event applies with its texts opened, and
// one of a customer erased since applies with them null and the customer
// marked erased, its text nowhere in the read models.
func TestPoisonRetry_SealedTexts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const keptName, erasedName = "Kept Parked Name 5Jq", "Erased Parked Name 8Lp"
	withStore := func(f func(*seal.Store)) {
		t.Helper()
		raw, err := sqlite.Open(ctx, filepath.Join(dir, eventsFile), sqlite.Config{})
		if err != nil {
			t.Fatal(err)
		}
		keys, err := seal.OpenKeys(ctx, filepath.Join(dir, keysFile))
		if err != nil {
			t.Fatal(err)
		}
		store := seal.New(raw, keys)
		f(store)
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Registrations no projector decodes (reseller_id is a number), their
	// names sealed as every name is.
	withStore(func(store *seal.Store) {
		for _, c := range []struct{ id, name string }{{"c-kept", keptName}, {"c-erased", erasedName}} {
			data, err := json.Marshal(map[string]any{"customer_id": c.id, "reseller_id": 12, "name": c.name})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.Append(ctx, "customer-"+c.id, eventstore.NoStream, eventstore.NewEvent{
				ID: "registered-" + c.id, Type: domain.TypeCustomerRegistered, SchemaVersion: 1, Data: data,
				Metadata: eventstore.Metadata{Actor: domain.Actor{Role: domain.RoleOperator, Subject: "op"}, OccurredAt: time.Now().UTC()},
			}); err != nil {
				t.Fatal(err)
			}
		}
	})
	s := MustServe(t, dir, "--processes=false")
	s.stop(t)
	if out, stderr, code := runCLI("poison", "list", "--data", dir); code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("poison list = %d %q %q, want both registrations parked", code, out, stderr)
	}

	// The fix (the test mends the stored events, leaving their sealed
	// names as they are), then c-erased's key is destroyed.
	events, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, events, `UPDATE events SET data = replace(data, '"reseller_id":12', '"reseller_id":"r1"')`)
	if err := events.Close(); err != nil {
		t.Fatal(err)
	}
	withStore(func(store *seal.Store) {
		if _, err := store.Keys().Destroy(ctx, "c-erased", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	})

	out, stderr, code := runCLI("poison", "retry", "--data", dir)
	if code != 0 || strings.Count(out, `"outcome":"applied"`) != 2 {
		t.Fatalf("poison retry = %d %q %q, want both applied", code, out, stderr)
	}
	rm, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, readModelsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	for _, want := range []struct {
		id, name string
		erased   bool
	}{{"c-kept", keptName, false}, {"c-erased", "", true}} {
		var (
			name   sql.NullString
			erased bool
		)
		if err := rm.QueryRow(`SELECT name, erased FROM customers WHERE id = ?`, want.id).Scan(&name, &erased); err != nil {
			t.Fatalf("customer %s: %v", want.id, err)
		}
		if name.String != want.name || erased != want.erased {
			t.Errorf("customer %s = %q erased %v, want %q erased %v", want.id, name.String, erased, want.name, want.erased)
		}
	}
}
