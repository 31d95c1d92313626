package sqlite_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

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

// BenchmarkAppends is the append table of docs/benchmarks.md under go test:
// one event per append from 1, 8 and 64 writers, with group commit and with
// one transaction per append (MaxBatch 1), durable (synchronous=FULL).
func BenchmarkAppends(b *testing.B) {
	for _, mode := range []struct {
		name     string
		maxBatch int
	}{{"group", 0}, {"per-append", 1}} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("mode=%s/writers=%d", mode.name, writers), func(b *testing.B) {
				s := MustOpen(b, tempPath(b), sqlite.Config{MaxBatch: mode.maxBatch})
				b.ResetTimer()
				fig, err := sqlite.MeasureAppends(b.Context(), s, writers, func(i int) bool { return i < b.N })
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(fig.EventsPerSec, "events/s")
				b.ReportMetric(float64(fig.P50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(fig.P99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(fig.Appends)/float64(max(fig.Transactions, 1)), "appends/tx")
			})
		}
	}
}

// TestBenchAppends runs the benchmark briefly, to keep the function that
// `offerflow bench` calls working; it asserts what it measured, never how
// fast.
func TestBenchAppends(t *testing.T) {
	rows, err := sqlite.BenchAppends(t.Context(), sqlite.AppendBenchConfig{Dir: t.TempDir(), Writers: []int{1, 4}, Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Writers != 1 || rows[1].Writers != 4 {
		t.Fatalf("rows = %+v, want writers 1 and 4", rows)
	}
	for _, r := range rows {
		g, p := r.Group, r.PerAppend
		if g.Appends == 0 || p.Appends == 0 || g.P50 <= 0 || g.P99 < g.P50 || r.Ratio <= 0 {
			t.Errorf("row %+v: empty figures", r)
		}
		if g.MaxBatch != 256 || p.MaxBatch != 1 {
			t.Errorf("max batch %d and %d, want the default 256 and 1", g.MaxBatch, p.MaxBatch)
		}
		if p.Transactions != uint64(p.Appends) {
			t.Errorf("one transaction per append: %d appends in %d transactions", p.Appends, p.Transactions)
		}
	}
	var table strings.Builder
	if err := sqlite.WriteAppendTable(&table, rows); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(table.String(), "\n"); n != 4 {
		t.Errorf("table has %d lines, want 4:\n%s", n, table.String())
	}
}

var appendTable = flag.Duration("append-table", 0, "run BenchAppends for this long per cell and print the table of docs/benchmarks.md")

// TestAppendTable prints the append table of docs/benchmarks.md when run
// with -append-table=3s; without the flag it is skipped.
func TestAppendTable(t *testing.T) {
	if *appendTable <= 0 {
		t.Skip("run with -append-table=3s to measure")
	}
	rows, err := sqlite.BenchAppends(t.Context(), sqlite.AppendBenchConfig{Dir: t.TempDir(), Duration: *appendTable})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := sqlite.WriteAppendTable(&table, rows); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
}
