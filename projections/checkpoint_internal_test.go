package projections

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/google/go-cmp/cmp"

	"github.com/offerflow/offerflow/domain"
)

// TestApply_CheckpointsInOneStatement: a batch reads every projector's
// checkpoint with one statement and writes the moved ones with another.
// Each projector must still get its own: the one with no row yet applies
// the whole batch, the one part-way applies only what lies after its
// checkpoint, the one past the batch applies nothing and stays where it
// is, and every other ends at the batch's last event.
func TestApply_CheckpointsInOneStatement(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, events := applyTestLog(t, filepath.Join(dir, "events.db"), 3)
	db, _ := applyTestDB(t, filepath.Join(dir, "read.db"))
	last := events[len(events)-1].Position
	mid := events[len(events)/2].Position

	// Stored out of the projectors' order, so that a statement's rows
	// matched to projectors by their order would be caught.
	start := map[string]uint64{"test.ahead": last + 10, "test.midway": mid}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		return writeCheckpoints(ctx, tx, []string{"test.ahead", "test.midway"}, []uint64{last + 10, mid})
	})
	if err != nil {
		t.Fatal(err)
	}

	names := []string{"test.fresh", "test.midway", "test.ahead"}
	applied := map[string][]uint64{}
	var prs []*projector
	for _, name := range names {
		p, err := newProjector(name, cqrs.NewGroupEventHandler(func(ctx context.Context, _ *domain.OfferCreated) error {
			applied[name] = append(applied[name], ctx.Value(changeKey{}).(*change).env.Position)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		prs = append(prs, p)
	}
	if err := db.apply(ctx, prs, events); err != nil {
		t.Fatal(err)
	}

	for _, name := range names {
		var want []uint64
		for _, e := range events {
			if e.Type == domain.TypeOfferCreated && e.Position > start[name] {
				want = append(want, e.Position)
			}
		}
		if diff := cmp.Diff(want, applied[name]); diff != "" {
			t.Errorf("%s applied (-want +got):\n%s", name, diff)
		}
	}
	var got []uint64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		got, err = readCheckpoints(ctx, tx, names)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{last, last, last + 10}, got); diff != "" {
		t.Errorf("checkpoints of %v after the batch (-want +got):\n%s", names, diff)
	}
}
