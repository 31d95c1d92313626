package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore/sqlite"
	"github.com/offerflow/offerflow/projections"
)

// runLogBench fills parts 3 and 4: it builds a log of c.events events,
// rebuilds the read models from it and scans it raw, then queries inboxes
// and badges of random customers on the rebuilt read models.
func runLogBench(ctx context.Context, c *benchConfig, r *benchReport, e env) error {
	path := filepath.Join(c.dir, eventsFile)
	lg, err := buildLog(ctx, path, c.events, e.stderr)
	if err != nil {
		return fmt.Errorf("build the log: %w", err)
	}
	fmt.Fprintf(e.stderr, "bench: built a log of %d events, %d offers, %d customers in %s\n",
		lg.events, lg.offers, len(lg.customers), lg.took.Round(time.Millisecond))
	size := fmt.Sprintf("%s events", fmtRate(float64(lg.events)))

	rows, took, err := sqlite.RawScan(ctx, path)
	if err != nil {
		return err
	}
	scanRate := float64(rows) / took.Seconds()
	r.add("3 rebuild", "raw SELECT of the whole log, "+size, fmt.Sprintf("%s rows/s (%s)", fmtRate(scanRate), fmtDur(took)), "-",
		"SQLite reading rows, one goroutine")

	store, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		return err
	}
	defer store.Close()
	db, err := projections.OpenDB(ctx, filepath.Join(c.dir, readModelsFile))
	if err != nil {
		return err
	}
	defer db.Close()
	stopProfile, err := c.profileSelf("rebuild")
	if err != nil {
		return err
	}
	// As the rebuild command runs it (see rebuildGC).
	restoreGC := rebuildGC()
	win := startWindow(0, nil)
	res, err := projections.Rebuild(ctx, store, db, nil)
	win.stop()
	restoreGC()
	if err := errors.Join(err, stopProfile()); err != nil {
		return err
	}
	r.add("3 rebuild", "rebuild of the read models, "+size,
		fmt.Sprintf("%s events/s (%s) = %.2f of the raw scan", fmtRate(res.Rate()), fmtDur(res.Duration), res.Rate()/scanRate),
		"≥ 150,000 events/s", win.bound(-1, 0))

	return queryBench(ctx, c, r, db, lg)
}

// queryBench times inbox and badge queries of random customers, one at a
// time, through the read models' own query methods (what the HTTP handlers
// call).
func queryBench(ctx context.Context, c *benchConfig, r *benchReport, db *projections.DB, lg benchLog) (err error) {
	rng := rand.New(rand.NewPCG(1, 2))
	var inbox, badge latencies
	stopProfile, err := c.profileSelf("queries")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopProfile()) }()
	win := startWindow(0, nil)
	for range c.queries {
		cust := lg.customers[rng.IntN(len(lg.customers))]
		t := time.Now()
		if _, err := db.Inbox(ctx, cust, domain.PageRequest{Limit: 50}); err != nil {
			return fmt.Errorf("inbox: %w", err)
		}
		inbox = append(inbox, time.Since(t))
		t = time.Now()
		if _, err := db.Badge(ctx, cust); err != nil {
			return fmt.Errorf("badge: %w", err)
		}
		badge = append(badge, time.Since(t))
	}
	win.stop()
	bound := "one query at a time: " + win.bound(-1, 0)
	size := fmt.Sprintf("%s events, %s offers, %s customers", fmtRate(float64(lg.events)), fmtRate(float64(lg.offers)), fmtRate(float64(len(lg.customers))))
	r.add("4 query", "inbox (first page of 50), "+size, fmt.Sprintf("%s (%d queries)", inbox.p50p99(), len(inbox)), "p99 < 1ms", bound)
	r.add("4 query", "badge, "+size, fmt.Sprintf("%s (%d queries)", badge.p50p99(), len(badge)), "p99 < 1ms", bound)
	return nil
}

// profileSelf starts a CPU profile of the bench's own process into
// c.profile/bench-cpu-NAME.pprof, when --profile is set; the returned
// function stops it. It also writes the process's allocation profile when
// it starts and when it stops (bench-allocs-NAME-start.pprof and -end), so
// that what the part allocated is the one less the other:
//
//	go tool pprof -sample_index=alloc_space -base bench-allocs-NAME-start.pprof bench-allocs-NAME-end.pprof
func (c *benchConfig) profileSelf(name string) (stop func() error, err error) {
	if c.profile == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(filepath.Join(c.profile, "bench-cpu-"+name+".pprof"))
	if err != nil {
		return nil, err
	}
	if err := c.writeAllocs(name + "-start"); err != nil {
		f.Close()
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("profile %s: %w", name, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return errors.Join(f.Close(), c.writeAllocs(name+"-end"))
	}, nil
}

// writeAllocs writes the process's allocation profile, as it is now, into
// c.profile/bench-allocs-NAME.pprof.
func (c *benchConfig) writeAllocs(name string) error {
	f, err := os.Create(filepath.Join(c.profile, "bench-allocs-"+name+".pprof"))
	if err != nil {
		return fmt.Errorf("allocation profile %s: %w", name, err)
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("allocation profile %s: %w", name, err)
	}
	return f.Close()
}
