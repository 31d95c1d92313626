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

// BenchmarkFollowerReads is what a follower of the log costs at every
// commit it is woken by: reading the head from the file (Wait's first
// look when it knows of nothing newer) and reading the last commit's two
// events. The figures are the process's CPU time per read, with a context
// that can be cancelled, as every follower's is.
//
//	go test -run '^$' -bench BenchmarkFollowerReads -benchtime 20000x ./eventstore/sqlite/
func BenchmarkFollowerReads(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "events.db"), Config{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 100 {
		evs := []eventstore.NewEvent{
			{ID: fmt.Sprintf("c%d", i), Type: "offer.created", Data: json.RawMessage(`{"message":"an offer of the benchmark"}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}},
			{ID: fmt.Sprintf("d%d", i), Type: "offer.dispatched", Data: json.RawMessage(`{"dispatch":1}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}},
		}
		if _, err := s.Append(ctx, fmt.Sprintf("offer-%d", i), eventstore.NoStream, evs...); err != nil {
			b.Fatal(err)
		}
	}
	head := s.KnownHead()
	var spent [2]time.Duration
	for b.Loop() {
		start := processCPU()
		if h, err := s.readHead(ctx); err != nil || h != head {
			b.Fatalf("head %d, %v; want %d", h, err, head)
		}
		mid := processCPU()
		if evs, err := s.ReadAll(ctx, head-2, 256); err != nil || len(evs) != 2 {
			b.Fatalf("read %d events: %v", len(evs), err)
		}
		spent[0] += mid - start
		spent[1] += processCPU() - mid
	}
	b.ReportMetric(float64(spent[0].Nanoseconds())/1e3/float64(b.N), "head-cpu-µs/read")
	b.ReportMetric(float64(spent[1].Nanoseconds())/1e3/float64(b.N), "tail-cpu-µs/read")
	b.ReportMetric(0, "ns/op")
}
