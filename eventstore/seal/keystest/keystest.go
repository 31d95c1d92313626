// Package keystest is the conformance suite of seal.KeyStore: every
// implementation runs it, so that a customer's key, and its erasure, behave
// the same whichever store keeps them (a SQLite file, an EventStoreDB
// cluster).
package keystest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore/seal"
)

// Open returns two handles on one fresh, empty key store, as two nodes
// would open it; both are closed when t ends.
type Open func(t *testing.T) (first, second seal.KeyStore)

// Run runs the suite.
func Run(t *testing.T, open Open) {
	ctx := context.Background()
	// An erasure time with nanoseconds, which every store must keep.
	first := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)

	t.Run("NoKeyUnlessCreated", func(t *testing.T) {
		a, b := open(t)
		for _, s := range []seal.KeyStore{a, b} {
			if key, erased, err := s.Key(ctx, "c1", false); err != nil || key != nil || erased {
				t.Fatalf("key of a new customer without create: %x, erased %v, %v; want none", key, erased, err)
			}
		}
	})
	t.Run("OneKeyPerCustomer", func(t *testing.T) {
		a, b := open(t)
		k1 := live(t, a, "c1", true)
		if len(k1) != seal.KeySize || bytes.Equal(k1, make([]byte, seal.KeySize)) {
			t.Fatalf("key %x: want %d random bytes", k1, seal.KeySize)
		}
		for _, s := range []seal.KeyStore{a, b} {
			for _, create := range []bool{false, true} {
				if got := live(t, s, "c1", create); !bytes.Equal(got, k1) {
					t.Fatalf("c1's key read again (create %v) differs: %x, want %x", create, got, k1)
				}
			}
		}
		if k2 := live(t, b, "c2", true); bytes.Equal(k2, k1) {
			t.Fatal("two customers got the same key")
		}
	})
	t.Run("RacingCreatorsGetOneKey", func(t *testing.T) {
		a, b := open(t)
		const callers = 8
		keys := make([][]byte, callers)
		var wg sync.WaitGroup
		for i := range callers {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				key, erased, err := s.Key(ctx, "c1", true)
				if err != nil || erased || key == nil {
					t.Errorf("caller %d: %x, erased %v, %v", i, key, erased, err)
				}
				keys[i] = key
			})
		}
		wg.Wait()
		for i, k := range keys {
			if !bytes.Equal(k, keys[0]) {
				t.Fatalf("caller %d got key %x, caller 0 %x: two keys made for one customer", i, k, keys[0])
			}
		}
		if got := live(t, b, "c1", false); !bytes.Equal(got, keys[0]) {
			t.Fatalf("the key stored is %x, the callers got %x", got, keys[0])
		}
	})
	t.Run("DestroyLeavesATombstone", func(t *testing.T) {
		a, b := open(t)
		live(t, a, "c1", true)
		k2 := live(t, a, "c2", true)
		destroy(t, a, "c1", first, first)
		for _, s := range []seal.KeyStore{a, b} {
			for _, create := range []bool{false, true} {
				if key, erased, err := s.Key(ctx, "c1", create); err != nil || key != nil || !erased {
					t.Fatalf("key of an erased customer (create %v): %x, erased %v, %v; want erased", create, key, erased, err)
				}
			}
		}
		// A repeated erasure, on either node, reports the first one's time.
		destroy(t, a, "c1", first.Add(time.Hour), first)
		destroy(t, b, "c1", first.Add(2*time.Hour), first)
		// Other customers keep theirs.
		if got := live(t, b, "c2", false); !bytes.Equal(got, k2) {
			t.Fatalf("another customer's key changed: %x, want %x", got, k2)
		}
	})
	t.Run("DestroyWithoutKey", func(t *testing.T) {
		a, b := open(t)
		destroy(t, a, "c1", first, first)
		for _, s := range []seal.KeyStore{a, b} {
			if key, erased, err := s.Key(ctx, "c1", true); err != nil || key != nil || !erased {
				t.Fatalf("key of a customer erased before it had one: %x, erased %v, %v; want erased, no key made", key, erased, err)
			}
		}
		destroy(t, b, "c1", first.Add(time.Minute), first)
	})
	t.Run("DestroyRacingCreate", func(t *testing.T) {
		// Whichever comes first, the tombstone stays: no key is made
		// after it, on either node.
		for round := range 4 {
			a, b := open(t)
			customer := fmt.Sprintf("c%d", round)
			var wg sync.WaitGroup
			wg.Go(func() {
				if _, _, err := a.Key(ctx, customer, true); err != nil {
					t.Errorf("create: %v", err)
				}
			})
			wg.Go(func() {
				if _, err := b.Destroy(ctx, customer, first); err != nil {
					t.Errorf("destroy: %v", err)
				}
			})
			wg.Wait()
			for _, s := range []seal.KeyStore{a, b} {
				if key, erased, err := s.Key(ctx, customer, true); err != nil || key != nil || !erased {
					t.Fatalf("round %d: after a destroy racing a create: %x, erased %v, %v; want erased", round, key, erased, err)
				}
			}
		}
	})
	t.Run("UnrecordedUntilRecorded", func(t *testing.T) {
		a, b := open(t)
		unrecorded(t, a, map[string]time.Time{})
		live(t, a, "c1", true)
		destroy(t, a, "c1", first, first)
		destroy(t, b, "c2", first.Add(time.Second), first.Add(time.Second))
		want := map[string]time.Time{"c1": first, "c2": first.Add(time.Second)}
		unrecorded(t, a, want)
		unrecorded(t, b, want)
		if err := b.Recorded(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		delete(want, "c1")
		unrecorded(t, a, want)
		// A repeated erasure of a recorded one does not list it again.
		destroy(t, a, "c1", first.Add(time.Hour), first)
		unrecorded(t, b, want)
		// Marking twice, or a customer never erased, changes nothing.
		for _, c := range []string{"c1", "c3"} {
			if err := a.Recorded(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		unrecorded(t, b, want)
		if err := a.Recorded(ctx, "c2"); err != nil {
			t.Fatal(err)
		}
		unrecorded(t, b, map[string]time.Time{})
	})
}

// live returns customer's key from s, failing t unless there is one.
func live(t *testing.T, s seal.KeyStore, customer string, create bool) []byte {
	t.Helper()
	key, erased, err := s.Key(context.Background(), customer, create)
	if err != nil || erased || key == nil {
		t.Fatalf("key of %s (create %v): %x, erased %v, %v", customer, create, key, erased, err)
	}
	return key
}

// destroy destroys customer's key as of at, expecting want back.
func destroy(t *testing.T, s seal.KeyStore, customer string, at, want time.Time) {
	t.Helper()
	got, err := s.Destroy(context.Background(), customer, at)
	if err != nil || !got.Equal(want) {
		t.Fatalf("destroy %s at %v: %v, %v; want %v", customer, at, got, err, want)
	}
}

// unrecorded checks s's unrecorded erasures.
func unrecorded(t *testing.T, s seal.KeyStore, want map[string]time.Time) {
	t.Helper()
	got, err := s.Unrecorded(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ok := len(got) == len(want)
	for c, at := range want {
		ok = ok && got[c].Equal(at)
	}
	if !ok {
		t.Fatalf("unrecorded erasures %v, want %v", got, want)
	}
}
