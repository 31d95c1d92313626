package projections_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
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
	raw, exec := rawMigrated(t, path, "0008")
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

// rawMigrated opens a new SQLite file at path with the migrations named
// before first applied, as a node of that time left it, and returns it
// with a function that runs a statement on it or fails the test.
func rawMigrated(t *testing.T, path, first string) (*sql.DB, func(q string, args ...any)) {
	t.Helper()
	ctx := context.Background()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations %v, %v", names, err)
	}
	exec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY)`)
	for _, name := range names {
		if filepath.Base(name) >= first {
			continue
		}
		script, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(script))
		exec(`INSERT INTO schema_migrations (name) VALUES (?)`, filepath.Base(name))
	}
	return raw, exec
}

// TestMigration_OfferStateRowid: 0009 turns offers and inbox into rowid
// tables and keeps their rows, documents and all.
func TestMigration_OfferStateRowid(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "readmodels.db")
	raw, exec := rawMigrated(t, path, "0009")
	const doc = `{"id":"o1","reseller_id":"r1","customer_id":"c1","template_id":"t1","items":[],"message":"kept","expires_at":null,` +
		`"status":"waiting_for_confirmation","dispatch":1,"delivered":true,"created_at":"2026-12-02T15:04:05Z",` +
		`"delivered_at":"2026-12-02T15:04:06Z","opened_at":null,"decided_at":null,"withdrawn_at":null,"expired_at":null,` +
		`"rejection_reason":"","delivery_error":"","opened_by":"","decided_by":"","supersedes":"","superseded_by":"",` +
		`"reminded_at":null,"reminder_read":false,"erased":false}`
	exec(`INSERT INTO offers (id, created_pos, reseller_id, customer_id, status, version, state)
		VALUES ('o1', 7, 'r1', 'c1', 'waiting_for_confirmation', 3, ?)`, doc)
	exec(`INSERT INTO inbox (id, customer_id, delivered, received_pos, reseller_name, version, state)
		VALUES ('o1', 'c1', 1, 9, 'Reseller One', 3, ?)`, doc)
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := rmOpenDB(t, path)
	rec, err := db.Offer(ctx, "r1", "o1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Offer.Message != "kept" || rec.Version != 3 || rec.Offer.DeliveredAt == nil {
		t.Errorf("offer after 0009: %+v", rec)
	}
	page, err := db.Inbox(ctx, "c1", domain.PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ResellerName != "Reseller One" || page.Items[0].Offer.Message != "kept" {
		t.Fatalf("inbox after 0009: %+v, %v", page.Items, err)
	}
	check, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	for _, table := range []string{"offers", "inbox"} {
		var ddl string
		if err := check.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&ddl); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID") {
			t.Errorf("%s after 0009 is still WITHOUT ROWID: %s", table, ddl)
		}
	}
}
