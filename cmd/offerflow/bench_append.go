package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/sqlite"
)

// diskRate measures the disk's own rate of durable one-row SQLite
// transactions: one connection, WAL, synchronous=FULL, one INSERT and one
// COMMIT (one fsync of the WAL) at a time, for d. It is the yardstick of
// every durable figure of the run: a design that commits once per offer can
// reach at most this rate.
func diskRate(ctx context.Context, dir string, d time.Duration) (float64, error) {
	path := filepath.Join(dir, "disk.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000")
	if err != nil {
		return 0, fmt.Errorf("disk rate: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		return 0, fmt.Errorf("disk rate: %w", err)
	}
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := db.ExecContext(ctx, "INSERT INTO t (v) VALUES (?)", "one durable row"); err != nil {
			return 0, fmt.Errorf("disk rate: %w", err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// appendResult is what one cell of the append table measured.
type appendResult struct {
	events  int
	commits int // write transactions, each one fsync of the WAL
	lat     latencies
	win     *window
}

func (r appendResult) rate() float64 { return float64(r.events) / r.win.elapsed.Seconds() }

// benchAppend appends one event at a time to a new stream from writers
// goroutines for d, into a fresh store in dir, and reports every append's
// latency. Each append is durable when it returns.
func benchAppend(ctx context.Context, path string, cfg sqlite.Config, writers int, d time.Duration) (appendResult, error) {
	store, err := sqlite.Open(ctx, path, cfg)
	if err != nil {
		return appendResult{}, err
	}
	defer store.Close()
	data := json.RawMessage(`{"note":"an event of the append benchmark"}`)
	lats := make([]latencies, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	before := store.Stats()
	win := startWindow(0, nil)
	deadline := win.start.Add(d)
	for w := range writers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				stream := fmt.Sprintf("bench-%d-%d", w, i)
				ev := eventstore.NewEvent{ID: stream, Type: "bench.appended", SchemaVersion: 1, Data: data,
					Metadata: eventstore.Metadata{Actor: eventstore.Actor{Role: "system", Subject: "bench"}, OccurredAt: time.Now()}}
				t := time.Now()
				if _, err := store.Append(ctx, stream, eventstore.NoStream, ev); err != nil {
					errs[w] = err
					return
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	win.stop()
	res := appendResult{win: win, commits: int(store.Stats().Transactions - before.Transactions)}
	for w := range writers {
		if errs[w] != nil {
			return res, errs[w]
		}
		res.lat = append(res.lat, lats[w]...)
	}
	res.events = len(res.lat)
	return res, nil
}

// runAppendBench fills part 1 of the report: append throughput and latency
// at each number of writers, one transaction per append (MaxBatch 1) beside
// group commit (the default), each on a fresh file.
func runAppendBench(ctx context.Context, c *benchConfig, r *benchReport, disk float64) error {
	for _, w := range c.writers {
		var res [2]appendResult
		for i, batch := range []int{1, 0} {
			path := filepath.Join(c.dir, fmt.Sprintf("append-%d-%d.db", w, batch))
			var err error
			if res[i], err = benchAppend(ctx, path, sqlite.Config{MaxBatch: batch}, w, c.appendTime); err != nil {
				return fmt.Errorf("append with %d writers: %w", w, err)
			}
		}
		one, group := res[0], res[1]
		r.add("1 append", fmt.Sprintf("%d concurrent writers, one transaction per append", w),
			fmt.Sprintf("%s events/s, %s", fmtRate(one.rate()), one.lat.p50p99()), "-", one.win.bound(one.commits, disk))
		target := "-"
		if w == 64 {
			target = "≥ 25,000 events/s, ≥ 8x"
		}
		r.add("1 append", fmt.Sprintf("%d concurrent writers, group commit", w),
			fmt.Sprintf("%s events/s = %.1fx, %s; %.1f appends per commit", fmtRate(group.rate()), group.rate()/one.rate(),
				group.lat.p50p99(), float64(group.events)/float64(max(group.commits, 1))),
			target, group.win.bound(group.commits, disk))
	}
	return nil
}
