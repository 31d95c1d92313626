package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/sqlitefile"
)

// diskRate measures the disk's own rate of durable one-row SQLite
// transactions: one connection, WAL, synchronous=FULL, one INSERT and one
// COMMIT (one fsync of the WAL) at a time, for d. It is the yardstick of
// every durable figure of the run: a design that commits once per offer can
// reach at most this rate.
func diskRate(ctx context.Context, dir string, d time.Duration) (float64, error) {
	path := filepath.Join(dir, "disk.db")
	db, err := sqlitefile.Open(path, sqlitefile.Settings{JournalMode: "WAL", Synchronous: "FULL", MaxOpenConns: 1})
	if err != nil {
		return 0, fmt.Errorf("disk rate: %w", err)
	}
	defer db.Close()
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

// runAppendBench fills part 1 of the report with eventstore/sqlite's own
// append benchmark: at each number of writers, one transaction per append
// (MaxBatch 1) beside group commit (the default), each on a fresh file.
func runAppendBench(ctx context.Context, c *benchConfig, r *benchReport, disk float64) error {
	for _, w := range c.writers {
		win := startWindow(0, nil)
		rows, err := sqlite.BenchAppends(ctx, sqlite.AppendBenchConfig{Dir: c.dir, Writers: []int{w}, Duration: c.appendTime})
		win.stop()
		if err != nil {
			return fmt.Errorf("append with %d writers: %w", w, err)
		}
		row := rows[0]
		one, group := row.PerAppend, row.Group
		r.add("1 append", fmt.Sprintf("%d concurrent writers, one transaction per append", w),
			fmt.Sprintf("%s events/s, p50 %s, p99 %s", fmtRate(one.EventsPerSec), fmtDur(one.P50), fmtDur(one.P99)),
			"-", win.boundOf(one.Elapsed, int(one.Transactions), disk))
		target := "-"
		if w == 64 {
			target = "≥ 25,000 events/s, ≥ 8x"
		}
		r.add("1 append", fmt.Sprintf("%d concurrent writers, group commit", w),
			fmt.Sprintf("%s events/s = %.1fx, p50 %s, p99 %s; %.1f appends per commit", fmtRate(group.EventsPerSec), row.Ratio,
				fmtDur(group.P50), fmtDur(group.P99), float64(group.Appends)/float64(max(group.Transactions, 1))),
			target, win.boundOf(group.Elapsed, int(group.Transactions), disk))
	}
	return nil
}
