package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/projections"
)

// verifyReadModels checks every read model against the log: it brings the
// live read models up to the log's head, rebuilds a fresh copy from the log
// beside them, and compares the two table by table. Run it while no commands
// arrive, or an append between the two may show as a difference.
func verifyReadModels(ctx context.Context, sf storeFlags, store eventstore.Store, e env) (err error) {
	live, err := projections.OpenDB(ctx, sf.path(readModelsFile))
	if err != nil {
		return fmt.Errorf("open read models: %w", err)
	}
	defer live.Close()
	p, err := projections.New(live, store, projections.Config{})
	if err != nil {
		return err
	}
	head, err := p.CatchUp(ctx)
	_ = p.Close()
	if err != nil {
		return err
	}

	// The copy holds the customers' texts opened: in the data directory,
	// not os.TempDir (see projections.RemoveScratch), and locked while
	// this runs, so that the next serve, rebuild or verify, or an erasure
	// in a running serve, removes it if this process is killed.
	tmp, err := projections.MakeScratchDir(sf.data, verifyDirPrefix)
	if err != nil {
		return fmt.Errorf("verify read models: %w", err)
	}
	defer func() {
		if rerr := tmp.Remove(); err == nil {
			err = rerr
		}
	}()
	fresh, err := projections.OpenDB(ctx, filepath.Join(tmp.Path(), readModelsFile))
	if err != nil {
		return err
	}
	defer fresh.Close()
	bar := newProgress(e.stderr, "rebuild for comparison", int64(head))
	restoreGC := rebuildGC()
	res, err := projections.Rebuild(ctx, store, fresh, func(applied, _ uint64) { bar.set(int64(applied)) })
	restoreGC()
	bar.done()
	if err != nil {
		return err
	}
	if res.Head != head {
		return fmt.Errorf("the log grew while verifying (head %d, then %d): run verify again while no commands arrive", head, res.Head)
	}

	want, err := fresh.Fingerprint(ctx)
	if err != nil {
		return err
	}
	got, err := live.Fingerprint(ctx)
	if err != nil {
		return err
	}
	var bad []string
	for table, h := range want {
		if got[table] != h {
			bad = append(bad, table)
		}
	}
	for table := range got {
		if _, ok := want[table]; !ok {
			bad = append(bad, table)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("read models differ from a rebuild of the log in: %s (run `offerflow rebuild`)", strings.Join(bad, ", "))
	}
	fmt.Fprintf(e.stdout, "read models ok: %d tables match a rebuild of the log up to position %d\n", len(want), head)
	return nil
}
