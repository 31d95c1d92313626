// Package idempotencytest is the conformance suite of idempotency.Records:
// every implementation runs it, so that a retry behaves the same whichever
// store keeps the records (SQLite, EventStoreDB).
package idempotencytest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	ofhttp "github.com/offerflow/offerflow/http"
	"github.com/offerflow/offerflow/idempotency"
)

// Clock is a settable time source, shared by the records under test (and by
// an emulated server, where one has a clock).
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Unix(1_700_000_000, 0)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Open returns two handles on one fresh, empty set of records, configured
// with cfg (whose Now is c's), as two nodes would open them; both are
// closed when t ends.
type Open func(t *testing.T, c *Clock, cfg idempotency.Config) (first, second idempotency.Records)

// lease is the claims' lease in the suite.
const lease = time.Minute

// Run runs the suite.
func Run(t *testing.T, open Open) {
	ctx := context.Background()
	fresh := func(t *testing.T) (*Clock, idempotency.Records, idempotency.Records) {
		c := NewClock()
		a, b := open(t, c, idempotency.Config{Lease: lease, Now: c.Now})
		return c, a, b
	}
	t.Run("ClaimThenReplay", func(t *testing.T) {
		_, s, _ := fresh(t)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyInProgress)
		begin(t, s, "k", "fp2", ofhttp.IdempotencyMismatch)
		complete(t, s, "k", []byte("sealed"))
		if got := begin(t, s, "k", "fp1", ofhttp.IdempotencyReplay); string(got) != "sealed" {
			t.Fatalf("replayed %q, want %q", got, "sealed")
		}
		begin(t, s, "k", "fp2", ofhttp.IdempotencyMismatch)
		// Other keys are independent.
		begin(t, s, "other", "fp2", ofhttp.IdempotencyStarted)
	})
	t.Run("ReplayIsByteExact", func(t *testing.T) {
		_, s, other := fresh(t)
		resp := make([]byte, 0, 4096)
		for i := range 4096 {
			resp = append(resp, byte(i*7))
		}
		begin(t, s, "k", "fp", ofhttp.IdempotencyStarted)
		complete(t, s, "k", resp)
		for _, h := range []idempotency.Records{s, other} {
			if got := begin(t, h, "k", "fp", ofhttp.IdempotencyReplay); !bytes.Equal(got, resp) {
				t.Fatalf("replayed %d bytes that differ from the %d stored", len(got), len(resp))
			}
		}
	})
	t.Run("OtherHandleSeesEveryState", func(t *testing.T) {
		_, a, b := fresh(t)
		begin(t, a, "k", "fp1", ofhttp.IdempotencyStarted)
		begin(t, b, "k", "fp1", ofhttp.IdempotencyInProgress)
		begin(t, b, "k", "fp2", ofhttp.IdempotencyMismatch)
		complete(t, a, "k", []byte("from a"))
		if got := begin(t, b, "k", "fp1", ofhttp.IdempotencyReplay); string(got) != "from a" {
			t.Fatalf("the other handle replayed %q", got)
		}
		begin(t, b, "k", "fp2", ofhttp.IdempotencyMismatch)
	})
	t.Run("KeptAtLeast24Hours", func(t *testing.T) {
		c, s, other := fresh(t)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		c.Add(time.Hour) // the age counts from the reply
		complete(t, s, "k", []byte("r"))
		c.Add(24*time.Hour - time.Second)
		begin(t, other, "k", "fp1", ofhttp.IdempotencyReplay)
		c.Add(2 * time.Second)
		begin(t, other, "k", "fp2", ofhttp.IdempotencyStarted)
	})
	t.Run("FreeLongAfterExpiry", func(t *testing.T) {
		// Long enough for a backend to have forgotten the record.
		c, s, other := fresh(t)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		complete(t, s, "k", []byte("r"))
		c.Add(90 * 24 * time.Hour)
		begin(t, other, "k", "fp1", ofhttp.IdempotencyStarted)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyInProgress)
		complete(t, other, "k", []byte("again"))
		if got := begin(t, s, "k", "fp1", ofhttp.IdempotencyReplay); string(got) != "again" {
			t.Fatalf("replayed %q, want the second reply", got)
		}
	})
	t.Run("ReleaseFreesTheKey", func(t *testing.T) {
		_, s, other := fresh(t)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		if err := s.Release(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		begin(t, other, "k", "fp2", ofhttp.IdempotencyStarted)
	})
	t.Run("ReleaseKeepsACompletedResponse", func(t *testing.T) {
		_, s, _ := fresh(t)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		complete(t, s, "k", []byte("r"))
		if err := s.Release(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		begin(t, s, "k", "fp1", ofhttp.IdempotencyReplay)
	})
	t.Run("LapsedClaimIsTakenOver", func(t *testing.T) {
		// The node that claimed died: another takes the key over once the
		// claim's lease has lapsed, and only one of them.
		c, s, other := fresh(t)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyStarted)
		c.Add(lease / 2)
		begin(t, other, "k", "fp1", ofhttp.IdempotencyInProgress)
		begin(t, other, "k", "fp2", ofhttp.IdempotencyMismatch)
		c.Add(lease/2 + time.Second)
		begin(t, other, "k", "fp1", ofhttp.IdempotencyStarted)
		begin(t, s, "k", "fp1", ofhttp.IdempotencyInProgress)
		complete(t, other, "k", []byte("taker"))
		if got := begin(t, s, "k", "fp1", ofhttp.IdempotencyReplay); string(got) != "taker" {
			t.Fatalf("replayed %q, want the taker's reply", got)
		}
	})
	t.Run("ErrCompleteWithoutClaim", func(t *testing.T) {
		_, s, _ := fresh(t)
		if err := s.Complete(ctx, "nobody", []byte("r")); err == nil {
			t.Fatal("Complete of an unclaimed key succeeded")
		}
	})
	t.Run("WipeForgetsReplies", func(t *testing.T) {
		_, s, other := fresh(t)
		begin(t, s, "done", "fp", ofhttp.IdempotencyStarted)
		complete(t, s, "done", []byte("may hold erased text"))
		begin(t, s, "running", "fp", ofhttp.IdempotencyStarted)
		if err := other.Wipe(ctx); err != nil {
			t.Fatal(err)
		}
		// A reply from before the wipe is gone on every handle; a claim
		// still running stays claimed.
		begin(t, s, "done", "fp", ofhttp.IdempotencyStarted)
		begin(t, other, "running", "fp", ofhttp.IdempotencyInProgress)
		complete(t, s, "running", []byte("after"))
		if got := begin(t, other, "running", "fp", ofhttp.IdempotencyReplay); string(got) != "after" {
			t.Fatalf("a reply stored after the wipe replayed as %q", got)
		}
	})
	t.Run("ConcurrentClaimsOneWins", func(t *testing.T) {
		_, a, b := fresh(t)
		const n = 8
		var wg sync.WaitGroup
		outcomes := make(chan ofhttp.IdempotencyOutcome, n)
		for i := range n {
			h := a
			if i%2 == 1 {
				h = b
			}
			wg.Go(func() {
				o, _, err := h.Begin(ctx, "k", "fp")
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
			} else if o != ofhttp.IdempotencyInProgress {
				t.Errorf("a concurrent claim got outcome %d", o)
			}
		}
		if started != 1 {
			t.Fatalf("%d claims started, want 1", started)
		}
	})
}

func begin(t *testing.T, s idempotency.Records, key, fp string, want ofhttp.IdempotencyOutcome) []byte {
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

func complete(t *testing.T, s idempotency.Records, key string, resp []byte) {
	t.Helper()
	if err := s.Complete(context.Background(), key, resp); err != nil {
		t.Fatal(err)
	}
}
