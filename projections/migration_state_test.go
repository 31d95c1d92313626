package projections_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/projections"
)

// TestMigration_OfferState: a read-model file from before 0008 (offers and
// inbox column by column, every projector at the log's head) upgrades with
// no step but starting: opening it applies 0008, which empties the read
// models and drops the checkpoints, and the projectors' start refills them
// from the log, into exactly what a rebuild of the log gives. The rows of
// the old shape are gone, texts and all.
func TestMigration_OfferState(t *testing.T) {
	ctx := context.Background()
	e := newRMEnv(t)
	newRMWorkload(e, 3).Run(t, 400)
	head := e.head(t)
	want := rmFingerprint(t, e.rebuilt(t, "rebuilt.db"))

	// The file as 0007 left it, written with the migrations of the time.
	path := filepath.Join(e.dir, "old.db")
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(names) < 8 {
		t.Fatalf("migrations %v, %v", names, err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY)`)
	for _, name := range names {
		if filepath.Base(name) >= "0008" {
			continue
		}
		script, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(script))
		exec(`INSERT INTO schema_migrations (name) VALUES (?)`, filepath.Base(name))
	}
	const oldText = "old row, message column"
	exec(`INSERT INTO offers (id, created_pos, reseller_id, customer_id, template_id, status, items, message, dispatch, delivered,
		created_at, rejection_reason, delivery_error, version) VALUES ('o-old', 1, 'r', 'c', 't', 'waiting', '[]', ?, 1, 0, 0, '', '', 1)`, oldText)
	exec(`INSERT INTO inbox (id, created_pos, reseller_id, customer_id, template_id, status, items, message, dispatch, delivered,
		created_at, rejection_reason, delivery_error, version) VALUES ('o-old', 1, 'r', 'c', 't', 'waiting', '[]', ?, 1, 0, 0, '', '', 1)`, oldText)
	exec(`INSERT INTO customers (id, reseller_id, name, name_key, external_ref, version) VALUES ('c', 'r', 'Old', 'old', '', 1)`)
	for _, p := range []string{projections.ProjectorResellerView, projections.ProjectorCustomerInbox, projections.ProjectorLicenses,
		projections.ProjectorAuditIndex, projections.ProjectorReports} {
		exec(`INSERT INTO checkpoints (projector, position) VALUES (?, ?)`, p, int64(head))
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := rmOpenDB(t, path)
	for name, pos := range db.Positions(ctx) {
		if pos != 0 {
			t.Errorf("%s at %d after 0008, want 0 (the read models refill from the log)", name, pos)
		}
	}
	e.run(t, db, projections.Config{}) // Start returns once caught up
	if !db.CaughtUp(ctx, head) {
		t.Fatalf("started, but not at the head %d: %v", head, db.Positions(ctx))
	}
	if diff := cmp.Diff(want, rmFingerprint(t, db)); diff != "" {
		t.Errorf("upgraded read models differ from a rebuild (-rebuilt +upgraded):\n%s", diff)
	}
	page, err := db.Offers(ctx, domain.OfferFilter{})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("offers after the upgrade: %d, %v", len(page.Items), err)
	}
	for _, rec := range page.Items {
		if rec.Offer.ID == "o-old" || rec.Offer.Message == oldText {
			t.Errorf("a row of the old shape survived: %+v", rec)
		}
	}
}
