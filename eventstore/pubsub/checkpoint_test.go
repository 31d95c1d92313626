package pubsub_test

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"testing"

	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// TestSQLCheckpoints checks that checkpoints are kept per (group, topic),
// never move backwards, and survive reopening the database.
func TestSQLCheckpoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkpoints.db")
	cp := mustCheckpoints(t, path)

	if got := mustLoad(t, cp, "g", "offer"); got != 0 {
		t.Fatalf("unsaved checkpoint = %d, want 0", got)
	}
	for _, s := range []struct {
		group, topic string
		pos          uint64
	}{
		{"g", "offer", 10},
		{"g", "offer", 7}, // behind: ignored
		{"g", pubsub.TopicAll, 3},
		{"h", "offer", 1},
		{"g", "offer", 12},
	} {
		if err := cp.Save(ctx, s.group, s.topic, s.pos); err != nil {
			t.Fatal(err)
		}
	}
	if err := cp.Save(ctx, "g", "offer", math.MaxUint64); err == nil {
		t.Error("a position beyond SQLite's integers was accepted")
	}

	// A second handle on the same file, as after a restart.
	reopened := mustCheckpoints(t, path)
	for _, w := range []struct {
		group, topic string
		want         uint64
	}{
		{"g", "offer", 12},
		{"g", pubsub.TopicAll, 3},
		{"h", "offer", 1},
		{"h", pubsub.TopicAll, 0},
	} {
		if got := mustLoad(t, reopened, w.group, w.topic); got != w.want {
			t.Errorf("checkpoint %s/%s = %d, want %d", w.group, w.topic, got, w.want)
		}
	}
}

// TestSQLCheckpoints_Errors checks that failures are reported, not hidden.
func TestSQLCheckpoints_Errors(t *testing.T) {
	ctx := context.Background()
	if _, err := pubsub.NewSQLCheckpoints(ctx, nil); err == nil {
		t.Error("nil database accepted")
	}
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := pubsub.NewSQLCheckpoints(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Load(ctx, "g", "t"); err == nil {
		t.Error("Load on a closed database succeeded")
	}
	if err := cp.Save(ctx, "g", "t", 1); err == nil {
		t.Error("Save on a closed database succeeded")
	}
}
