package idempotency_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	ofhttp "github.com/offerflow/offerflow/http"
	"github.com/offerflow/offerflow/idempotency"
	"github.com/offerflow/offerflow/idempotency/idempotencytest"
)

func mustOpen(tb testing.TB, path string, cfg idempotency.Config) *idempotency.Store {
	tb.Helper()
	s, err := idempotency.Open(context.Background(), path, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// TestStore_Conformance runs the records' suite on SQLite, the two handles
// on one file as the nodes on a shared sqlite:// log open it.
func TestStore_Conformance(t *testing.T) {
	idempotencytest.Run(t, func(t *testing.T, _ *idempotencytest.Clock, cfg idempotency.Config) (idempotency.Records, idempotency.Records) {
		path := filepath.Join(t.TempDir(), "idem.db")
		return mustOpen(t, path, cfg), mustOpen(t, path, cfg)
	})
}

func TestStore_Purge(t *testing.T) {
	ctx := context.Background()
	c := idempotencytest.NewClock()
	s := mustOpen(t, filepath.Join(t.TempDir(), "idem.db"), idempotency.Config{Lease: time.Minute, Now: c.Now})
	begin := func(key, fp string, want ofhttp.IdempotencyOutcome) {
		t.Helper()
		if got, _, err := s.Begin(ctx, key, fp); err != nil || got != want {
			t.Fatalf("Begin(%q, %q) = %d, %v, want %d", key, fp, got, err, want)
		}
	}
	begin("old", "fp", ofhttp.IdempotencyStarted)
	c.Add(time.Hour)
	begin("new", "fp", ofhttp.IdempotencyStarted)
	c.Add(24 * time.Hour)
	n, err := s.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("purged %d entries, want 1", n)
	}
	c.Add(-time.Hour)
	begin("new", "fp2", ofhttp.IdempotencyMismatch)
}
