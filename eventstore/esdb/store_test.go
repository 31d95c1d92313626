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
	"github.com/offerflow/offerflow/eventstore/eventstoretest"
)

// serverURL returns the connection string of the EventStoreDB/KurrentDB
// server to test against, skipping tb when there is none. The server keeps
// its data between runs, so every run works in streams of its own.
func serverURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("EVENTSTORE_URL")
	if url == "" {
		tb.Skip("EVENTSTORE_URL is not set: to run the conformance suite against EventStoreDB/KurrentDB, " +
			"start a server and run EVENTSTORE_URL='esdb://localhost:2113?tls=false' go test ./eventstore/esdb/")
	}
	return url
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
		tb.Fatalf("open the server EVENTSTORE_URL names: %v", err) // the URL may hold a password
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
// names, each benchmark in a fresh namespace.
func BenchmarkStore(b *testing.B) {
	url := serverURL(b)
	eventstoretest.Bench(b, func(b *testing.B) eventstore.Store { return open(b, url, "bench-"+runID()+"-") })
}
