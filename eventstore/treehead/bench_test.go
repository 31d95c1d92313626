package treehead_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/treehead"
)

// benchLog fills a SQLite log with n events of offer-like size, 5 a stream.
func benchLog(b *testing.B, n int) eventstore.Store {
	b.Helper()
	ctx := context.Background()
	store := mustStore(b)
	data := json.RawMessage(`{"offer_id":"0195a3c2-7d1e-7000-8000-000000000000","customer_id":"0195a3c2-7d1e-7000-8000-000000000001","message":"Ihre Pflichtschulungen für 2027","items":[{"product_id":"p","term_months":12,"license_mode":"absolute","seats":null}]}`)
	for i := 0; i < n; i += 5 {
		stream := fmt.Sprintf("offer-%d", i)
		evs := make([]eventstore.NewEvent, 5)
		for j := range evs {
			evs[j] = eventstore.NewEvent{ID: fmt.Sprint(j), Type: "offer.created", SchemaVersion: 1, Data: data,
				Metadata: eventstore.Metadata{Actor: domain.Actor{Role: "reseller", Tenant: "r", Subject: "s"}, OccurredAt: time.Unix(1700000000, 0)}}
		}
		if _, err := store.Append(ctx, stream, eventstore.NoStream, evs...); err != nil {
			b.Fatal(err)
		}
	}
	return store
}

// BenchmarkTreeFromLog measures what start-up costs: computing the tree
// over the whole log with every event's hash recomputed (head, verify) and
// from the stored hashes (serve), beside reading the same log alone, as
// export does. Compare the ns/event figures of one run.
func BenchmarkTreeFromLog(b *testing.B) {
	const n = 20000
	store := benchLog(b, n)
	key, err := treehead.LoadOrCreateKey(filepath.Join(b.TempDir(), "key"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			var after uint64
			for {
				evs, err := store.ReadAll(ctx, after, 1000)
				if err != nil {
					b.Fatal(err)
				}
				if len(evs) == 0 {
					break
				}
				after = evs[len(evs)-1].Position
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
	})
	for _, stored := range []bool{false, true} {
		name := map[bool]string{false: "tree-recomputed", true: "tree-stored"}[stored]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				svc, err := treehead.New(ctx, treehead.Config{Store: store, Key: key, StoredHashes: stored}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if svc.Key().KeyID != key.ID() {
					b.Fatal("wrong key")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}
