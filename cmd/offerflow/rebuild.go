package main

import (
	"context"
	"fmt"

	"github.com/offerflow/offerflow/projections"
)

// runRebuild replays the log into fresh read models in a scratch file and
// swaps it in for the old ones (projections.Rebuild). Run it with the
// server stopped: the read models are the server's to write.
func runRebuild(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("rebuild", e)
	var sf storeFlags
	sf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := sf.openSealed(ctx, true)
	if err != nil {
		return err
	}
	defer store.Close()
	db, err := projections.OpenDB(ctx, sf.path(readModelsFile))
	if err != nil {
		return fmt.Errorf("open read models: %w", err)
	}
	defer db.Close()

	var bar *progress
	res, err := projections.Rebuild(ctx, store, db, func(applied, total uint64) {
		if bar == nil {
			bar = newProgress(e.stderr, "rebuild", int64(total))
		}
		bar.set(int64(applied))
	})
	if bar != nil {
		bar.done()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rebuilt read models: %d events applied up to position %d in %s (%.0f events/s)\n",
		res.Events, res.Head, res.Duration.Round(1e6), res.Rate())
	return nil
}
