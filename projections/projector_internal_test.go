package projections

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/offerflow/offerflow/domain"
)

// TestApplyBatch_IgnoredEventsLagByCount feeds a projector, one event at a
// time as the live path does, events it has no handler for at positions
// 1,000 apart, as EventStoreDB's byte-offset positions are. The stored
// checkpoint must trail by a number of events, not of position units: on
// such a log a lag counted in positions would commit a checkpoint-only
// transaction for nearly every ignored event.
func TestApplyBatch_IgnoredEventsLagByCount(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDB(ctx, filepath.Join(t.TempDir(), "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := newLicenseView()
	if err != nil {
		t.Fatal(err)
	}
	stored := func() uint64 {
		t.Helper()
		var cp uint64
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			cp, err = readCheckpoint(ctx, tx, p.name)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	apply := func(pos uint64) {
		t.Helper()
		env := domain.AuditEvent{Position: pos, Type: domain.TypeOfferCreated}
		err := db.applyBatch(ctx, p, []domain.AuditEvent{env}, func(context.Context, int) error {
			t.Fatalf("handler called for %s, which the licenses projector ignores", env.Type)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	const gap = 1000
	pos := uint64(0)
	for range checkpointLag - 1 {
		pos += gap
		apply(pos)
	}
	if cp := stored(); cp != 0 {
		t.Errorf("stored checkpoint %d after %d ignored events, want none yet", cp, checkpointLag-1)
	}
	if got := db.marks.get(p.name); got != pos {
		t.Errorf("position %d, want %d: ignored events still count as applied", got, pos)
	}
	pos += gap
	apply(pos)
	if cp := stored(); cp != pos {
		t.Errorf("stored checkpoint %d after %d ignored events, want %d", cp, checkpointLag, pos)
	}
	// The count starts over from the checkpoint just stored.
	pos += gap
	apply(pos)
	if cp := stored(); cp != pos-gap {
		t.Errorf("stored checkpoint %d one event after a save, want %d", cp, pos-gap)
	}
}
