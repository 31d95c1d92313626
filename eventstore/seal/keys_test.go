package seal_test

import (
	"context"
	"path/filepath"
	"testing"

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
