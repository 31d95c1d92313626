package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/projections"
)

// TestUpcast_OldShapeThroughEveryReader stores an offer.rejected in its
// schema version 1 shape (reason a string), as binaries before version 2
// wrote it, and reads it through every reader: the aggregate's fold, the
// projections (rebuild, and verify's comparison of the live read models with
// a rebuilt copy), the offer's history, and export and import, which keep the
// event as stored so that its hash still verifies.
func TestUpcast_OldShapeThroughEveryReader(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mustBenchLog(t, dir, 300)

	store, err := sqlite.Open(ctx, filepath.Join(dir, eventsFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadAll(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]eventstore.Event{}
	for _, e := range evs {
		last[e.Stream] = e
	}
	// An offer of the bench's log waiting for confirmation: the customer
	// rejects it, in the shape of version 1.
	var target eventstore.Event
	for _, e := range last {
		if e.Type == domain.TypeOfferDelivered || e.Type == domain.TypeOfferRead {
			target = e
			break
		}
	}
	if target.ID == "" {
		t.Fatal("the bench's log holds no offer waiting for confirmation")
	}
	var ids struct {
		OfferID domain.OfferID `json:"offer_id"`
	}
	if err := json.Unmarshal(target.Data, &ids); err != nil {
		t.Fatal(err)
	}
	id := ids.OfferID
	at := target.Metadata.OccurredAt.Add(time.Minute)
	v1 := `{"offer_id":"` + string(id) + `","reason":"zu teuer","at":"` + at.Format(time.RFC3339Nano) + `"}`
	if _, err := store.Append(ctx, target.Stream, target.Version, eventstore.NewEvent{
		ID: "old-shape-rejection", Type: domain.TypeOfferRejected, SchemaVersion: 1, Data: json.RawMessage(v1),
		Metadata: eventstore.Metadata{Actor: target.Metadata.Actor, OccurredAt: at},
	}); err != nil {
		t.Fatal(err)
	}

	// The aggregate's fold, as the command side loads a stream.
	stream, err := eventstore.ReadStreamAll(ctx, store, target.Stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	o := &domain.Offer{}
	for _, e := range stream {
		de, err := domain.DecodeEvent(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			t.Fatalf("decode %s version %d: %v", e.Type, e.SchemaVersion, err)
		}
		o.Apply(de)
	}
	if v := o.View(); v.Status != domain.StatusRejected || v.RejectionReason != "zu teuer" {
		t.Fatalf("folded offer: status %s, reason %q", v.Status, v.RejectionReason)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	// The projections, through rebuild and through verify's comparison.
	if out, stderr, code := runCLI("rebuild", "--data", dir); code != 0 {
		t.Fatalf("rebuild: exit %d\n%s\n%s", code, out, stderr)
	}
	db, err := projections.OpenDB(ctx, filepath.Join(dir, readModelsFile))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := db.Offer(ctx, o.Reseller(), id)
	_ = db.Close()
	if err != nil || rec.Offer.Status != domain.StatusRejected || rec.Offer.RejectionReason != "zu teuer" {
		t.Fatalf("read model of the offer: %+v, %v", rec.Offer, err)
	}
	if out, stderr, code := runCLI("verify", "--data", dir); code != 0 {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, stderr)
	}

	// The history shows the event as stored, its chain intact.
	out, stderr, code := runCLI("history", "--data", dir, string(id), "--json")
	if code != 0 || !strings.Contains(out, `"type":"offer.rejected"`) || !strings.Contains(out, `"reason":"zu teuer"`) {
		t.Fatalf("history: exit %d\n%s\n%s", code, out, stderr)
	}

	// Export keeps it as stored; its import verifies.
	export := mustExport(t, dir)
	if !strings.Contains(export, `"schema_version":1,"data":`+v1) {
		t.Fatalf("export lacks the event as stored:\n%s", export)
	}
	copyDir := filepath.Join(t.TempDir(), "copy")
	if out, stderr, code := runCLIInput(export, "import", "--data", copyDir); code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, stderr)
	}
	if out, stderr, code := runCLI("verify", "--data", copyDir); code != 0 {
		t.Fatalf("verify of the import: exit %d\n%s\n%s", code, out, stderr)
	}
}
