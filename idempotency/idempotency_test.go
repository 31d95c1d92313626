package idempotency_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	ofhttp "github.com/offerflow/offerflow/http"
	"github.com/offerflow/offerflow/idempotency"
)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustOpen(tb testing.TB, c *clock) *idempotency.Store {
	tb.Helper()
	s, err := idempotency.Open(context.Background(), filepath.Join(tb.TempDir(), "idem.db"), idempotency.Config{Lease: time.Minute, Now: c.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func begin(t *testing.T, s *idempotency.Store, key, fp string, want ofhttp.IdempotencyOutcome) []byte {
	t.Helper()
	got, resp, err := s.Begin(context.Background(), key, fp)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Begin(%q, %q) = %d, want %d", key, fp, got, want)
	}
	return resp
}

func TestStore_Begin(t *testing.T) {
	ctx := context.Background()
	t.Run("ClaimThenReplay", func(t *testing.T) {
		c := &clock{now: time.Unix(1_700_000_000, 0)}
		s := mustOpen(t, c)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyInProgress)
		begin(t, s, "k", "fp2", ofhttp.IdempotencyMismatch)
		if err := s.Complete(ctx, "k", []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		if got := begin(t, s, "k", "fp1", ofhttp.IdempotencyReplay); string(got) != "sealed" {
			t.Fatalf("replayed %q, want %q", got, "sealed")
		}
		begin(t, s, "k", "fp2", ofhttp.IdempotencyMismatch)
		// Other keys are independent.
		begin(t, s, "other", "fp2", ofhttp.IdempotencyStarted)
	})
	t.Run("KeptAtLeast24Hours", func(t *testing.T) {
		c := &clock{now: time.Unix(1_700_000_000, 0)}
		s := mustOpen(t, c)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		if err := s.Complete(ctx, "k", []byte("r")); err != nil {
			t.Fatal(err)
		}
		c.Add(24*time.Hour - time.Second)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyReplay)
		c.Add(2 * time.Second)
		begin(t, s, "k", "fp2", ofhttp.IdempotencyStarted)
	})
	t.Run("ReleaseFreesTheKey", func(t *testing.T) {
		c := &clock{now: time.Unix(1_700_000_000, 0)}
		s := mustOpen(t, c)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		if err := s.Release(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		begin(t, s, "k", "fp2", ofhttp.IdempotencyStarted)
	})
	t.Run("ReleaseKeepsACompletedResponse", func(t *testing.T) {
		c := &clock{now: time.Unix(1_700_000_000, 0)}
		s := mustOpen(t, c)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		if err := s.Complete(ctx, "k", []byte("r")); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		begin(t, s, "k", "fp1", ofhttp.IdempotencyReplay)
	})
	t.Run("LapsedClaimIsTakenOver", func(t *testing.T) {
		c := &clock{now: time.Unix(1_700_000_000, 0)}
		s := mustOpen(t, c)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		c.Add(30 * time.Second)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyInProgress)
		c.Add(31 * time.Second)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyInProgress)
	})
	t.Run("ErrCompleteWithoutClaim", func(t *testing.T) {
		c := &clock{now: time.Unix(1_700_000_000, 0)}
		s := mustOpen(t, c)
		if err := s.Complete(ctx, "nobody", []byte("r")); err == nil {
			t.Fatal("Complete of an unclaimed key succeeded")
		}
	})
	t.Run("ConcurrentClaimsOneWins", func(t *testing.T) {
		c := &clock{now: time.Unix(1_700_000_000, 0)}
		s := mustOpen(t, c)
		const n = 8
		var wg sync.WaitGroup
		outcomes := make(chan ofhttp.IdempotencyOutcome, n)
		for range n {
			wg.Go(func() {
				o, _, err := s.Begin(ctx, "k", "fp")
				if err != nil {
					t.Error(err)
				}
				outcomes <- o
			})
		}
		wg.Wait()
		close(outcomes)
		started := 0
		for o := range outcomes {
			if o == ofhttp.IdempotencyStarted {
				started++
			}
		}
		if started != 1 {
			t.Fatalf("%d claims started, want 1", started)
		}
	})
}

func TestStore_Purge(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	s := mustOpen(t, c)
	begin(t, s, "old", "fp", ofhttp.IdempotencyStarted)
	c.Add(time.Hour)
	begin(t, s, "new", "fp", ofhttp.IdempotencyStarted)
	c.Add(24 * time.Hour)
	n, err := s.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("purged %d entries, want 1", n)
	}
	c.Add(-time.Hour)
	begin(t, s, "new", "fp2", ofhttp.IdempotencyMismatch)
}
