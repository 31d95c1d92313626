package seal_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore/seal"
	"github.com/offerflow/offerflow/eventstore/seal/keystest"
)

// TestKeys runs the key stores' conformance suite on the SQLite file,
// opened twice as two nodes sharing it open it.
func TestKeys(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (seal.KeyStore, seal.KeyStore) {
		path := filepath.Join(t.TempDir(), "keys.db")
		open := func() seal.KeyStore {
			k, err := seal.OpenKeys(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := k.Close(); err != nil {
					t.Error(err)
				}
			})
			return k
		}
		return open(), open()
	})
}

// TestKeyring runs the suite through the cache Store keeps in front of a
// key store: what it caches must never contradict the store.
func TestKeyring(t *testing.T) {
	keystest.Run(t, func(t *testing.T) (seal.KeyStore, seal.KeyStore) {
		k, err := seal.OpenKeys(context.Background(), filepath.Join(t.TempDir(), "keys.db"))
		if err != nil {
			t.Fatal(err)
		}
		ring := seal.NewKeyring(k)
		t.Cleanup(func() { _ = ring.Close() })
		// One cache for both handles, as the stores of one node share it.
		return ring, seal.NewKeyring(ring)
	})
}

// TestKeyring_Recheck: a node whose cache holds a key that another node
// destroyed, and that never reads the customer.erased (the other node
// crashed before appending it), stops using the key once it has been
// cached for Recheck; a store it cannot reach meanwhile leaves the key in
// use, asked again next time.
func TestKeyring_Recheck(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	handle := func() *seal.Keys {
		k, err := seal.OpenKeys(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k.Close() })
		return k
	}
	var (
		mu  sync.Mutex
		now = time.Unix(1_700_000_000, 0)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	flaky := &failing{KeyStore: handle()}
	a := seal.NewKeyringConfig(flaky, seal.KeyringConfig{Recheck: time.Minute, Now: clock})
	b := handle()

	key, _, err := a.Key(ctx, "c1", true)
	if err != nil || key == nil {
		t.Fatalf("make c1's key: %x, %v", key, err)
	}
	if _, err := b.Destroy(ctx, "c1", now); err != nil {
		t.Fatal(err)
	}
	check := func(when string, wantErased bool) {
		t.Helper()
		got, erased, err := a.Key(ctx, "c1", true)
		if err != nil || erased != wantErased || (!erased && !bytes.Equal(got, key)) {
			t.Fatalf("%s: %x, erased %v, %v; want erased %v", when, got, erased, err, wantErased)
		}
	}
	check("within Recheck of the cache's read", false)
	advance(2 * time.Minute)
	flaky.fail(true)
	check("past Recheck, the store unreachable", false)
	flaky.fail(false)
	check("past Recheck, the store reached", true)
	check("after", true)
}

// failing is a KeyStore whose Key fails while told to.
type failing struct {
	seal.KeyStore
	mu   sync.Mutex
	down bool
}

func (f *failing) fail(down bool) { f.mu.Lock(); defer f.mu.Unlock(); f.down = down }

func (f *failing) Key(ctx context.Context, customer string, create bool) ([]byte, bool, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, false, errors.New("unreachable")
	}
	return f.KeyStore.Key(ctx, customer, create)
}
