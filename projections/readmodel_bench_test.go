package projections_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore/pubsub"
	"github.com/offerflow/offerflow/projections"
)

// BenchmarkProjection measures how fast the four projectors apply a log of
// random lifecycles (the workload of the tests, 5,000 events), all through
// the one batched path (a pubsub.Subscriber feeding DB.apply):
//
//   - live/batch=1: the running server's path with one event per
//     transaction, as it was before batching;
//   - live/batch=1000: the running server's path as it is, a backlog
//     arriving in batches of up to 1,000 events per transaction;
//   - rebuild: projections.Rebuild, batches of 8,192 events into a scratch
//     file without journal or fsync, swapped in at the end.
//
// The metric events/s counts log events applied by all four projectors.
//
//	go test -run '^$' -bench BenchmarkProjection -benchtime 3x -v ./projections/
func BenchmarkProjection(b *testing.B) {
	const events = 5000
	e := newRMEnv(b)
	start := time.Now()
	newRMWorkload(e, 5).Run(b, events)
	head := e.head(b)
	// For comparison with the live rate: how fast the command side wrote.
	b.Logf("workload: %d events appended through command.Service at %.0f events/s", head, float64(head)/time.Since(start).Seconds())

	for _, batch := range []int{1, 1000} {
		b.Run(fmt.Sprintf("live/batch=%d", batch), func(b *testing.B) {
			var spent time.Duration
			for i := range b.N {
				db := rmOpenDB(b, filepath.Join(b.TempDir(), fmt.Sprintf("live-%d.db", i)))
				p, err := projections.New(db, e.store, projections.Config{BatchSize: batch,
					Subscriber: pubsub.SubscriberConfig{PageSize: 1000}})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := p.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				rmWait(b, db, head)
				spent += time.Since(start)
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(head)*float64(b.N)/spent.Seconds(), "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}

	b.Run("rebuild", func(b *testing.B) {
		db := rmOpenDB(b, filepath.Join(b.TempDir(), "rebuild.db"))
		var spent time.Duration
		for range b.N {
			res, err := projections.Rebuild(context.Background(), e.store, db, nil)
			if err != nil {
				b.Fatal(err)
			}
			if res.Events != head {
				b.Fatalf("rebuilt %d events, want %d", res.Events, head)
			}
			spent += res.Duration
		}
		b.ReportMetric(float64(head)*float64(b.N)/spent.Seconds(), "events/s")
		b.ReportMetric(0, "ns/op")
	})
}
