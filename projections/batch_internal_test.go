package projections

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// TestBatch_HandlerStatementsSeeTheBatch: the offer rows a batch changes are
// kept in memory until it ends, yet a handler's own statement on their
// tables must read them as the batch left them, and its change must not be
// overwritten when the batch writes its rows. A reader after the four
// projectors reads each delivered offer's row in the same batch and then
// changes its message.
func TestBatch_HandlerStatementsSeeTheBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, events := applyTestLog(t, filepath.Join(dir, "events.db"), 4)
	db, prs := applyTestDB(t, filepath.Join(dir, "read.db"))
	type seen struct {
		version  uint64
		received bool
	}
	got := map[domain.OfferID]seen{}
	reader, err := newProjector("test.reader", cqrs.NewGroupEventHandler(
		func(ctx context.Context, e *domain.OfferDelivered) error {
			c, err := changeFrom(ctx)
			if err != nil {
				return err
			}
			var s seen
			if err := c.tx.QueryRowContext(ctx, `SELECT o.version, i.received_pos IS NOT NULL FROM offers o JOIN inbox i USING (id)
				WHERE o.id = ?`, e.OfferID).Scan(&s.version, &s.received); err != nil {
				return err
			}
			got[e.OfferID] = s
			_, err = c.tx.ExecContext(ctx, `UPDATE offers SET state = json_set(state, '$.message', 'changed by the reader') WHERE id = ?`, e.OfferID)
			return err
		}))
	if err != nil {
		t.Fatal(err)
	}
	// One batch: every offer is created, delivered (and half accepted) in it.
	if err := db.apply(ctx, append(prs, reader), events); err != nil {
		t.Fatal(err)
	}

	last := map[string]uint64{} // each stream's version at the end of the batch
	for _, ev := range events {
		last[ev.Stream] = ev.Version
	}
	if len(got) != 4 {
		t.Fatalf("the reader saw %d offers, want 4", len(got))
	}
	for id, s := range got {
		want := last[domain.OfferStream(id)]
		if s.version != want || !s.received {
			t.Errorf("offer %s read as version %d, received %v; want version %d (the four projectors applied the whole batch), received",
				id, s.version, s.received, want)
		}
		var msg string
		if err := db.read.QueryRowContext(ctx, `SELECT json_extract(state, '$.message') FROM offers WHERE id = ?`, id).Scan(&msg); err != nil {
			t.Fatal(err)
		}
		if msg != "changed by the reader" {
			t.Errorf("offer %s message %q after the batch: the reader's change was overwritten", id, msg)
		}
	}
}

// TestRebuild_RecreatesIndexes: a rebuild fills its scratch file without
// the secondary indexes and builds them at the end; the file swapped in
// must have every index a fresh database has, defined alike.
func TestRebuild_RecreatesIndexes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, _ := applyTestLog(t, filepath.Join(dir, "events.db"), 3)
	fresh, _ := applyTestDB(t, filepath.Join(dir, "fresh.db"))
	rebuilt, _ := applyTestDB(t, filepath.Join(dir, "rebuilt.db"))
	if _, err := Rebuild(ctx, store, rebuilt, nil); err != nil {
		t.Fatal(err)
	}
	indexes := func(db *DB) map[string]string {
		rows, err := db.read.QueryContext(ctx, `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, create string
			if err := rows.Scan(&name, &create); err != nil {
				t.Fatal(err)
			}
			out[name] = create
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, got := indexes(fresh), indexes(rebuilt)
	if len(want) == 0 {
		t.Fatal("a fresh database lists no index")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("indexes of the rebuilt database (-fresh +rebuilt):\n%s", diff)
	}
}

// TestWrittenOffers holds the scratch file's record of offer rows to what
// offer() relies on: an offer kept in a table may have a row there, one
// never kept (or kept in the other table) has none, and without a record
// every look-up goes through.
func TestWrittenOffers(t *testing.T) {
	var none *writtenOffers
	if !none.may("offers", "o-1") {
		t.Fatal("no record refused a look-up")
	}
	none.add("offers", "o-1") // a live file's batch: nothing recorded, no panic
	w := newWrittenOffers()
	tests := []struct {
		table string
		id    domain.OfferID
		may   bool
	}{
		{"offers", "o-1", true},
		{"inbox", "o-1", false},
		{"offers", "o-2", false},
		{"inbox", "o-3", true},
	}
	w.add("offers", "o-1")
	w.add("inbox", "o-3")
	for _, tt := range tests {
		if got := w.may(tt.table, tt.id); got != tt.may {
			t.Errorf("may(%s, %s) = %v, want %v", tt.table, tt.id, got, tt.may)
		}
	}
}
