package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections"
)

// TestMigration_AuditEnvelope opens a read-model file whose audit index
// holds a row in the flat shape written before 0007 and reads the event
// back whole, actor, ids and time now under the envelope's metadata.
func TestMigration_AuditEnvelope(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "readmodels.db")
	db, err := projections.OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The file as 0006 left it: the row in the old shape, 0007 not applied.
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	flat := `{"id":"e1","position":7,"stream":"offer-o1","version":2,"type":"offer.read","schema_version":1,` +
		`"occurred_at":"2026-12-02T15:04:05.123456789Z","actor":{"role":"customer","tenant":"c1","subject":"tok","name":"Ann"},` +
		`"data":{"offer_id":"o1"},"correlation_id":"corr","causation_id":"","hash":"h2","prev_hash":"h1"}`
	for _, q := range []string{
		`INSERT INTO audit_events (position, offer_id, reseller_id, customer_id, envelope) VALUES (7, 'o1', 'r1', 'c1', '` + flat + `')`,
		`DELETE FROM schema_migrations WHERE name = '0007_audit_envelope.sql'`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = projections.OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	got, err := db.AuditEvents(ctx, domain.Actor{Role: domain.RoleAuditor, Tenant: "*"}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Envelope{{ID: "e1", Position: 7, Stream: "offer-o1", Version: 2, Type: "offer.read", SchemaVersion: 1,
		Data: json.RawMessage(`{"offer_id":"o1"}`), Hash: "h2", PrevHash: "h1",
		Metadata: domain.EventMetadata{Actor: domain.Actor{Role: domain.RoleCustomer, Tenant: "c1", Subject: "tok", Name: "Ann"},
			CorrelationID: "corr", OccurredAt: time.Date(2026, 12, 2, 15, 4, 5, 123456789, time.UTC)}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("migrated audit event (-want +got):\n%s", diff)
	}
}
