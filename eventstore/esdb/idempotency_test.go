package esdb_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/offerflow/offerflow/idempotency"
	"github.com/offerflow/offerflow/idempotency/idempotencytest"
)

// TestIdempotency runs the Idempotency-Key records' conformance suite on
// the store's primitives through two clients of one server, as two serve
// nodes use them. On the emulator the server's clock is the suite's, so
// records older than their $maxAge are hidden as EventStoreDB hides them;
// a real server (EVENTSTORE_URL) keeps its own time.
func TestIdempotency(t *testing.T) {
	idempotencytest.Run(t, func(t *testing.T, c *idempotencytest.Clock, cfg idempotency.Config) (idempotency.Records, idempotency.Records) {
		url := os.Getenv("EVENTSTORE_URL")
		if url == "" {
			url = startEmulatorAt(t, c.Now).URL()
		}
		prefix := "idem-" + runID() + "-"
		a, b := open(t, url, prefix), open(t, url, prefix)
		if head, err := a.Head(t.Context()); err != nil || head != 0 {
			t.Fatalf("a fresh namespace's head is %d (%v)", head, err)
		}
		t.Cleanup(func() {
			// The records are system streams: the log does not show them.
			if head, err := a.Head(context.Background()); err != nil || head != 0 {
				t.Errorf("after the records' writes the log's head is %d (%v), want 0", head, err)
			}
		})
		return idempotency.NewVersioned(a, cfg), idempotency.NewVersioned(b, cfg)
	})
}

// TestIdempotency_HiddenRecordIsFree checks the one case EventStoreDB makes
// awkward: a key whose every event is past its $maxAge reads as empty but
// still has its revision, so it cannot be claimed at "no stream". The
// store learns the revision from the refusal and claims at it; two
// claimers still get one success.
func TestIdempotency_HiddenRecordIsFree(t *testing.T) {
	c := idempotencytest.NewClock()
	em := startEmulatorAt(t, c.Now)
	a, b := open(t, em.URL(), "hidden-"), open(t, em.URL(), "hidden-")
	ctx := t.Context()
	if _, ok, err := a.SwapIdempotency(ctx, "k", 0, []byte(`{"n":1}`), time.Hour); err != nil || !ok {
		t.Fatalf("first write: %v, %v", ok, err)
	}
	if rev, ok, err := a.SwapIdempotency(ctx, "k", 1, []byte(`{"n":2}`), time.Hour); err != nil || !ok || rev != 2 {
		t.Fatalf("second write: %v, %v", ok, err)
	}
	if data, rev, _, err := b.ReadIdempotency(ctx, "k"); err != nil || rev != 2 || string(data) != `{"n":2}` {
		t.Fatalf("read %q at revision %d (%v), want the second record at 2", data, rev, err)
	}
	c.Add(2 * time.Hour)
	if data, rev, _, err := b.ReadIdempotency(ctx, "k"); err != nil || data != nil || rev != 0 {
		t.Fatalf("past its $maxAge the record reads as %q at revision %d (%v), want none", data, rev, err)
	}
	revA, okA, errA := a.SwapIdempotency(ctx, "k", 0, []byte(`{"n":"a"}`), time.Hour)
	_, okB, errB := b.SwapIdempotency(ctx, "k", 0, []byte(`{"n":"b"}`), time.Hour)
	if errA != nil || errB != nil || !okA || okB || revA != 3 {
		t.Fatalf("claims of a hidden key: a %v at %d (%v), b %v (%v); want only the first to succeed, at 3", okA, revA, errA, okB, errB)
	}
	if data, rev, _, err := b.ReadIdempotency(ctx, "k"); err != nil || rev != 3 || string(data) != `{"n":"a"}` {
		t.Fatalf("read %q at revision %d (%v), want a's record at 3", data, rev, err)
	}
}
