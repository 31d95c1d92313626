package esdb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/esdb"
	"github.com/offerflow/offerflow/eventstore/esdb/esdbemulator"
	"github.com/offerflow/offerflow/eventstore/eventstoretest"
)

// serverURL returns the connection string of the server to test against:
// the EventStoreDB/KurrentDB server EVENTSTORE_URL names, which keeps its
// data between runs (so every run works in streams of its own), or else a
// fresh in-process emulator that lives as long as tb.
func serverURL(tb testing.TB) string {
	tb.Helper()
	if url := os.Getenv("EVENTSTORE_URL"); url != "" {
		return url
	}
	return startEmulator(tb).URL()
}

// startEmulator starts an emulator and stops it when tb ends, after the
// stores opened on it later have closed (cleanups run last-in first-out).
func startEmulator(tb testing.TB) *esdbemulator.Emulator {
	tb.Helper()
	return startEmulatorAt(tb, nil)
}

// startEmulatorAt is startEmulator with the server's clock set to now
// (nil: time.Now).
func startEmulatorAt(tb testing.TB, now func() time.Time) *esdbemulator.Emulator {
	tb.Helper()
	em, err := esdbemulator.StartConfig(esdbemulator.Config{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := em.Close(); err != nil {
			tb.Errorf("close the emulator: %v", err)
		}
	})
	return em
}

func runID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// open opens a store under prefix and closes it when tb ends.
func open(tb testing.TB, url, prefix string) *esdb.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := esdb.OpenConfig(ctx, esdb.Config{URL: url, StreamPrefix: prefix})
	if err != nil {
		tb.Fatalf("open the server: %v", err) // the URL may hold a password
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

// TestStore_Conformance runs the shared suite twice: in a namespace of this
// run (StreamPrefix), which other runs and data on the server cannot
// disturb, and over the whole cluster (no prefix, the production setup),
// which needs a server that only offerflow tests write to while it runs.
func TestStore_Conformance(t *testing.T) {
	url := serverURL(t)
	// One check up front, so an unreachable server fails once, not in every
	// subtest.
	open(t, url, "")
	run := runID()
	for _, v := range []struct{ name, prefix string }{
		{"Namespaced", "conformance-" + run + "-"},
		{"WholeCluster", ""},
	} {
		t.Run(v.name, func(t *testing.T) {
			eventstoretest.Run(t, func(t *testing.T) eventstore.Store { return open(t, url, v.prefix) })
		})
	}
}

// BenchmarkStore measures the store against the server EVENTSTORE_URL
// names (or the emulator), each benchmark in a fresh namespace.
func BenchmarkStore(b *testing.B) {
	url := serverURL(b)
	eventstoretest.Bench(b, func(b *testing.B) eventstore.Store { return open(b, url, "bench-"+runID()+"-") })
}
