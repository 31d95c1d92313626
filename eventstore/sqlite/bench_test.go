package sqlite_test

import (
	"testing"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/eventstoretest"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// BenchmarkStore measures the default, durable configuration
// (synchronous=FULL): the figures docs/eventstore.md quotes.
func BenchmarkStore(b *testing.B) {
	eventstoretest.Bench(b, func(b *testing.B) eventstore.Store {
		return MustOpen(b, tempPath(b), sqlite.Config{})
	})
}

// BenchmarkStoreSyncNormal measures synchronous=NORMAL, to show what the
// default's durability costs.
func BenchmarkStoreSyncNormal(b *testing.B) {
	eventstoretest.Bench(b, func(b *testing.B) eventstore.Store {
		return MustOpen(b, tempPath(b), sqlite.Config{Synchronous: "NORMAL"})
	})
}
