package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
)

// BenchmarkReadStream reads a three-event stream whole, as the command side
// once loaded a customer or a template for every offer it sent, through the
// read pool as Open configures it and, side by side, through a pool without
// the driver's statement cache (every query parsed and planned again). The
// figures are the process's CPU time per read.
//
//	go test -run '^$' -bench BenchmarkReadStream -benchtime 100x ./eventstore/sqlite/
func BenchmarkReadStream(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "events.db")
	s, err := Open(ctx, path, Config{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 100 {
		stream := fmt.Sprintf("customer-%d", i)
		var evs []eventstore.NewEvent
		for j := range 3 {
			evs = append(evs, eventstore.NewEvent{ID: fmt.Sprintf("%s-%d", stream, j), Type: "customer.registered",
				Data: json.RawMessage(`{"name":"a customer of the benchmark"}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}})
		}
		if _, err := s.Append(ctx, stream, eventstore.NoStream, evs...); err != nil {
			b.Fatal(err)
		}
	}
	uncached, err := sql.Open("sqlite3", strings.Replace(dsn(path, s.cfg, false), "_stmt_cache_size=", "_no_stmt_cache=", 1))
	if err != nil {
		b.Fatal(err)
	}
	defer uncached.Close()
	pools := []*sql.DB{s.reader, uncached}
	defer func() { s.reader = pools[0] }()
	// The two pools take turns in blocks, so that both meet the same
	// machine; each is charged the CPU time of its blocks.
	const block = 100
	var spent [2]time.Duration
	n := 0
	for b.Loop() {
		for i, pool := range pools {
			s.reader = pool
			start := processCPU()
			for j := range block {
				evs, err := s.ReadStream(ctx, fmt.Sprintf("customer-%d", (n+j)%100), 0, 1000)
				if err != nil || len(evs) != 3 {
					b.Fatalf("read %d events: %v", len(evs), err)
				}
			}
			spent[i] += processCPU() - start
		}
		n += block
	}
	b.ReportMetric(float64(spent[0].Nanoseconds())/1e3/float64(n), "cached-cpu-µs/read")
	b.ReportMetric(float64(spent[1].Nanoseconds())/1e3/float64(n), "uncached-cpu-µs/read")
	b.ReportMetric(0, "ns/op")
}

// processCPU is the CPU time the test process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
