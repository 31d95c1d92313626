package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// RebuildBatchSize is how many events Rebuild reads per page and applies
// per transaction: large, since the scratch file has no journal and no
// fsync, and a batch only costs memory.
const RebuildBatchSize = 8192

// RebuildResult tells what a rebuild did.
type RebuildResult struct {
	// Events is the number of log events replayed into the read models.
	Events uint64
	// Head is the log position the read models were rebuilt up to.
	Head uint64
	// Duration is the time the rebuild took, swap included.
	Duration time.Duration
}

// Rate returns the events replayed per second.
func (r RebuildResult) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Events) / r.Duration.Seconds()
}

// Rebuild replays the log, from its start up to its head at the time of
// the call, into a fresh copy of the read models, and swaps it in for db's
// file at the end. The replay takes the live path (a pubsub.Subscriber
// delivering batches to the projectors' handlers, one transaction per
// batch) into a scratch file beside db's, written without journal and
// without fsync; the scratch file is synced once, then renamed over db's
// file. Until that rename db's read models are untouched, so a crash or a
// cancelled rebuild leaves them as they were (a leftover scratch file is
// removed by the next rebuild, and by RemoveScratch). Events appended meanwhile are left to the
// live projection, which resumes after the rebuilt checkpoints.
//
// Nothing else may use db's file meanwhile: run it with the server stopped.
// db stays open and usable, on the new file. progress, when not nil, is
// called after each batch with the log position reached and the head: on
// the SQLite store positions count events, so these are events applied and
// events in all; on EventStoreDB they only grow in proportion.
func Rebuild(ctx context.Context, store eventstore.Store, db *DB, progress func(applied, total uint64)) (RebuildResult, error) {
	return rebuild(ctx, store, db, RebuildBatchSize, progress)
}

func rebuild(ctx context.Context, store eventstore.Store, db *DB, batch int, progress func(applied, total uint64)) (RebuildResult, error) {
	start := time.Now()
	head, err := store.Head(ctx)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild: %w", err)
	}
	// The scratch file holds the customers' texts opened: it is made 0600
	// and locked for as long as it exists, so that a leftover of a rebuild
	// that was killed is told from one in progress and removed (here, or
	// by the next serve, verify or erasure: see scratch.go). A rebuild in
	// progress on the same file is an error, not a file to remove.
	scratchPath := db.path + ScratchSuffix
	lock, err := createScratchFile(scratchPath)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild: %w", err)
	}
	n, err := rebuildInto(ctx, store, scratchPath, head, batch, progress)
	if err == nil {
		// Released just before the rename, which needs no lock: after it
		// the scratch name is gone. Held until the rename, the lock's
		// descriptor would be closed after SQLite reopened the renamed
		// file, releasing SQLite's own POSIX locks on it (they belong to
		// the process and go with any descriptor of the file closed).
		err = db.replace(ctx, scratchPath, lock.Close)
	}
	if err != nil {
		return RebuildResult{}, errors.Join(fmt.Errorf("rebuild: %w", err), removeDBFiles(scratchPath), lock.Close())
	}
	return RebuildResult{Events: n, Head: head, Duration: time.Since(start)}, nil
}

// rebuildInto replays the log up to head into a new scratch database at
// path, and closes it. It returns the number of events read.
func rebuildInto(ctx context.Context, store eventstore.Store, path string, head uint64, batch int, progress func(applied, total uint64)) (uint64, error) {
	scratch, err := openDB(ctx, path, true)
	if err != nil {
		return 0, err
	}
	prs, err := projectors()
	if err != nil {
		return 0, errors.Join(err, scratch.Close())
	}
	indexes, err := scratch.dropIndexes(ctx)
	if err != nil {
		return 0, errors.Join(err, scratch.Close())
	}
	sub, err := pubsub.NewSubscriber(store, checkpointStore{db: scratch}, pubsub.SubscriberConfig{
		ConsumerGroup: ReadModelsConsumerGroup, MaxBatch: batch, PageSize: batch, Prepare: preparer(prs),
	}, nil)
	if err != nil {
		return 0, errors.Join(err, scratch.Close())
	}
	if progress != nil {
		progress(0, head)
	}
	n, err := scratch.drain(ctx, sub, prs, head, progress)
	if err == nil {
		err = scratch.createIndexes(ctx, indexes)
	}
	return n, errors.Join(err, sub.Close(), scratch.Close())
}

// dropIndexes drops the secondary indexes of a scratch file and returns
// the statements that create them again. A rebuild fills the tables
// without them and builds each index once at the end, from sorted keys,
// instead of inserting into it row by row (audit_events alone has three).
// The apply path reads rows by their keys only, so it does not miss them.
func (db *DB) dropIndexes(ctx context.Context) ([]string, error) {
	rows, err := db.write.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	var names, creates []string
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("list indexes: %w", err)
		}
		names, creates = append(names, name), append(creates, create)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	for _, name := range names {
		if _, err := db.write.ExecContext(ctx, `DROP INDEX `+quoteIdent(name)); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", name, err)
		}
	}
	return creates, nil
}

// createIndexes runs the statements dropIndexes returned.
func (db *DB) createIndexes(ctx context.Context, creates []string) error {
	for _, c := range creates {
		if _, err := db.write.ExecContext(ctx, c); err != nil {
			return fmt.Errorf("create index: %w", err)
		}
	}
	return nil
}
