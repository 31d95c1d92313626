package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offerflow/offerflow/eventstore"
)

// BenchmarkReadStream reads a three-event stream, as the command side loads
// a customer or a template for every offer it sends, through the read pool
// as Open configures it and, side by side, through a pool without the
// driver's statement cache (every query parsed and planned again).
//
//	go test -run '^$' -bench BenchmarkReadStream ./eventstore/sqlite/
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
	read := func(b *testing.B) {
		i := 0
		for b.Loop() {
			evs, err := s.ReadStream(ctx, fmt.Sprintf("customer-%d", i%100), 0, 1000)
			if err != nil || len(evs) != 3 {
				b.Fatalf("read %d events: %v", len(evs), err)
			}
			i++
		}
	}
	b.Run("statement cache", read)
	uncached, err := sql.Open("sqlite3", strings.Replace(dsn(path, s.cfg, false), "_stmt_cache_size=", "_no_stmt_cache=", 1))
	if err != nil {
		b.Fatal(err)
	}
	defer uncached.Close()
	cached := s.reader
	s.reader = uncached
	defer func() { s.reader = cached }()
	b.Run("no statement cache", read)
}
