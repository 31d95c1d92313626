package eventstoretest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/offerflow/offerflow/eventstore"
)

// Bench runs the store benchmarks whose figures docs/eventstore.md quotes.
// newStore is called once per benchmark run and should return an empty store
// (closed by b.Cleanup). Each benchmark reports its throughput with
// b.ReportMetric: "appends/s" (Append calls per second) and "events/s".
//
//   - Append/1: one event per append, each to a new stream, one writer.
//   - Append/10: ten events per append, each to a new stream, one writer.
//   - AppendParallel/1: like Append/1 from 4 × GOMAXPROCS goroutines at once.
//   - ReadAll/1000: pages of 1,000 events read from the global log.
func Bench(b *testing.B, newStore func(b *testing.B) eventstore.Store) {
	for _, size := range []int{1, 10} {
		b.Run(fmt.Sprintf("Append/%d", size), func(b *testing.B) {
			s := newStore(b)
			ctx := b.Context()
			batches := benchBatches(b.N, size)
			prefix := "bench-" + randomHex(4) + "-"
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.Append(ctx, fmt.Sprint(prefix, i), eventstore.NoStream, batches[i]...); err != nil {
					b.Fatal(err)
				}
			}
			reportRates(b, size)
		})
	}
	b.Run("AppendParallel/1", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		prefix := "bench-" + randomHex(4) + "-"
		var n atomic.Int64
		// 4 × GOMAXPROCS writers: more than cores, as under a busy server.
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				if _, err := s.Append(ctx, fmt.Sprint(prefix, i), eventstore.NoStream, events(1, "bench.event")...); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRates(b, 1)
	})
	b.Run("ReadAll/1000", func(b *testing.B) {
		const (
			page  = 1000
			total = 20 * page
		)
		s := newStore(b)
		ctx := b.Context()
		start, end := seed(ctx, b, s, total)
		after := start
		b.ResetTimer()
		for range b.N {
			evs, err := s.ReadAll(ctx, after, page)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) != page {
				b.Fatalf("ReadAll(after %d) returned %d events, want %d", after, len(evs), page)
			}
			after = evs[page-1].Position
			// Start over at the end of the seeded events, so every page is full.
			if after >= end {
				after = start
			}
		}
		b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "events/s")
	})
}

// benchBatches prepares n batches of size events outside the timed loop.
func benchBatches(n, size int) [][]eventstore.NewEvent {
	out := make([][]eventstore.NewEvent, n)
	for i := range out {
		out[i] = events(size, "bench.event")
	}
	return out
}

func reportRates(b *testing.B, size int) {
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "appends/s")
	b.ReportMetric(float64(b.N*size)/secs, "events/s")
}

// seed appends n events in batches of 100 to 100-event streams and returns
// the head before them and the position of the last one.
func seed(ctx context.Context, b *testing.B, s eventstore.Store, n int) (start, end uint64) {
	b.Helper()
	start, err := s.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	prefix := "bench-seed-" + randomHex(4) + "-"
	for i := 0; i < n; i += 100 {
		res, err := s.Append(ctx, fmt.Sprint(prefix, i), eventstore.NoStream, events(100, "bench.event")...)
		if err != nil {
			b.Fatal(err)
		}
		end = res.Position
	}
	return start, end
}
