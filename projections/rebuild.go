package projections

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

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
// removed by the next rebuild, and by RemoveScratch). Events appended
// meanwhile are left to the live projection, which resumes after the
// rebuilt checkpoints.
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
	// Made before the scratch file: every failure after that must remove
	// the file and release its lock (below), and this return would not.
	prs, err := projectors()
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
	n, err := rebuildInto(ctx, store, scratchPath, head, batch, rebuildLanes(prs), progress)
	if err == nil {
		// Released just after the rename, before SQLite reopens the
		// file under its new name. Released before the rename, another
		// process's RemoveScratch could take the unlocked scratch file
		// for a leftover and remove it, failing the rename
		// (TestRebuild_ScratchLockedUntilRenamed); after it the scratch
		// name is gone. Held until SQLite reopened the file, the lock's
		// descriptor would be closed after that, releasing SQLite's own
		// POSIX locks on it (they belong to the process and go with any
		// descriptor of the file closed).
		err = db.replace(ctx, scratchPath, lock.Close)
	}
	if err != nil {
		return RebuildResult{}, errors.Join(fmt.Errorf("rebuild: %w", err), removeDBFiles(scratchPath), lock.Close())
	}
	return RebuildResult{Events: n, Head: head, Duration: time.Since(start)}, nil
}

// A rebuild applies the log in two lanes side by side, each a group of
// projectors with its own scratch file, connection and goroutine (see
// rebuildLanes for which). One lane on one connection kept SQLite's work
// on one core while the other mostly waited (issue 7). The lanes share one
// subscription, each event is read and decoded once for both, and a batch
// is applied to both at once, the slower lane setting the pace. At the end
// the second file's tables are copied into the first, which is then
// swapped in: into an empty table of the same schema with the same indexes
// SQLite copies each row's record and index entries without decoding
// them. The projectors of one lane read and write only their lane's
// tables, so a lane sees in its file all it would in one shared file.

// rebuildLanes are the lanes a rebuild applies prs in. The first lane's
// file is the one swapped in, and the second's tables are copied into it:
// the audit index (more than half of the bytes) and the customers' inbox
// go first, which leaves the lanes about as much work each and the least
// to copy. A projector must share a lane with every projector whose tables
// it reads or writes (the reports read the templates and customers of the
// reseller view); TestRebuild_LanesKeepToTheirTables checks the writes,
// TestRebuild_MatchesLive the result.
func rebuildLanes(prs []*projector) [][]*projector {
	var first, second []*projector
	for _, p := range prs {
		switch p.name {
		case ProjectorAuditIndex, ProjectorCustomerInbox:
			first = append(first, p)
		default:
			second = append(second, p)
		}
	}
	if len(first) == 0 || len(second) == 0 {
		return [][]*projector{prs}
	}
	return [][]*projector{first, second}
}

// maxLanes is the most lanes rebuildLanes returns.
const maxLanes = 2

// lanePath is the scratch file of lane i of a rebuild into path. The
// caller makes and locks the first; fill makes, locks and removes the
// others (see scratch.go for why they are locked).
func lanePath(path string, i int) string {
	if i == 0 {
		return path
	}
	return fmt.Sprintf("%s.lane%d", path, i)
}

// rebuildInto replays the log up to head into a new scratch database at
// path, the projectors in lanes, and closes it. It returns the number of
// events read.
func rebuildInto(ctx context.Context, store eventstore.Store, path string, head uint64, batch int, lanes [][]*projector, progress func(applied, total uint64)) (uint64, error) {
	prs := slices.Concat(lanes...)
	n, parked, err := fill(ctx, store, path, head, batch, prs, lanes, progress)
	if err != nil || !parked || len(lanes) == 1 {
		return n, err
	}
	// An event that a projector keeps failing on is parked, and every
	// projector skips it (see park). The lanes park on their own, so the
	// other lane applied what this one skipped: the log is replayed again
	// in one lane, as the live read models apply it. Only a log with a
	// broken event pays for this. The file is emptied, not removed: it
	// keeps its mode and the rebuild's lock (see rebuild).
	if err := emptyDBFile(path); err != nil {
		return 0, err
	}
	n, _, err = fill(ctx, store, path, head, batch, prs, [][]*projector{prs}, progress)
	return n, err
}

// fill replays the log up to head into new scratch files, one per lane,
// then copies the tables of the others into the first lane's file at path
// and removes them. It stops before the copy if a lane parked an event.
func fill(ctx context.Context, store eventstore.Store, path string, head uint64, batch int, prs []*projector, lanes [][]*projector, progress func(applied, total uint64)) (n uint64, parked bool, err error) {
	dbs := make([]*DB, len(lanes))
	locks := make([]*scratchLock, len(lanes))
	stopSync := func() error { return nil }
	defer func() {
		for _, d := range dbs {
			if d != nil {
				err = errors.Join(err, d.Close())
			}
		}
		// Closed after SQLite closed the file: closing another
		// descriptor of it while SQLite has it open would drop SQLite's
		// POSIX locks on it.
		err = errors.Join(err, stopSync())
		for i, l := range locks {
			if l != nil {
				err = errors.Join(err, removeDBFiles(lanePath(path, i)), l.Close())
			}
		}
	}()
	indexes := make([][]string, len(lanes))
	for i := range lanes {
		if i > 0 {
			if locks[i], err = createScratchFile(lanePath(path, i)); err != nil {
				return 0, false, err
			}
		}
		if dbs[i], err = openDB(ctx, lanePath(path, i), true); err != nil {
			return 0, false, err
		}
		if i == 0 {
			stopSync = syncBehind(path)
		}
		if indexes[i], err = dbs[i].dropIndexes(ctx); err != nil {
			return 0, false, err
		}
	}
	sub, err := pubsub.NewSubscriber(store, rebuildCheckpoints{}, pubsub.SubscriberConfig{
		ConsumerGroup: ReadModelsConsumerGroup, MaxBatch: batch, PageSize: batch, Prepare: preparer(prs),
	}, nil)
	if err != nil {
		return 0, false, err
	}
	defer func() { err = errors.Join(err, sub.Close()) }()
	if progress != nil {
		progress(0, head)
	}
	ls := make([]lane, len(lanes))
	for i := range lanes {
		ls[i] = lane{db: dbs[i], prs: lanes[i]}
	}
	if n, err = drain(ctx, sub, ls, head, progress); err != nil {
		return n, false, err
	}
	// Each lane builds its indexes on its own connection, the two side
	// by side.
	var g errgroup.Group
	for i, d := range dbs {
		g.Go(func() error { return d.createIndexes(ctx, indexes[i]) })
	}
	if err := g.Wait(); err != nil {
		return n, false, err
	}
	for _, d := range dbs {
		var any bool
		if err := d.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM parked_events)`).Scan(&any); err != nil {
			return n, false, fmt.Errorf("count parked events: %w", err)
		}
		parked = parked || any
	}
	if parked {
		return n, true, nil
	}
	for i := 1; i < len(dbs); i++ {
		d := dbs[i]
		dbs[i] = nil
		if err := d.Close(); err != nil {
			return n, false, err
		}
		if err := dbs[0].absorb(ctx, lanePath(path, i), lanes[i]); err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// absorb copies the tables of the read-model file at part, which lane's
// projectors filled, into db's, whose copies of them are empty, with the
// lane's checkpoints.
func (db *DB) absorb(ctx context.Context, part string, lane []*projector) error {
	tables, err := migratedTables(ctx)
	if err != nil {
		return err
	}
	// ATTACH holds for one connection: the statements run on this one.
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("copy %s: %w", part, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS lane`, part); err != nil {
		return fmt.Errorf("copy %s: %w", part, err)
	}
	err = func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		for _, t := range tables {
			if t == "checkpoints" || t == "parked_events" {
				continue // checked empty, or merged below
			}
			// Exactly this shape, into an empty table with the same
			// indexes, is SQLite's transfer of whole b-trees.
			if _, err := tx.ExecContext(ctx, `INSERT INTO main.`+quoteIdent(t)+` SELECT * FROM lane.`+quoteIdent(t)); err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
		}
		names := make([]any, len(lane))
		marks := make([]string, len(lane))
		for i, p := range lane {
			names[i], marks[i] = p.name, "?"
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO main.checkpoints SELECT * FROM lane.checkpoints
			WHERE projector IN (`+strings.Join(marks, ", ")+`)`, names...); err != nil {
			return fmt.Errorf("checkpoints: %w", err)
		}
		return tx.Commit()
	}()
	if _, derr := conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE lane`); derr != nil && err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", part, err)
	}
	return nil
}

// syncBehindEvery is how often syncBehind flushes the file.
const syncBehindEvery = 500 * time.Millisecond

// syncBehind flushes the file at path to disk every syncBehindEvery until
// the function it returns is called, which returns the first failure to
// flush it. The swap syncs the scratch file before it renames it, and a
// rebuild writes it without syncing: about 1.4 GB per million events,
// which the disk, idle until then, took 1.5 to 3 seconds to write at the
// end. Flushed as it is written, the file is mostly on disk by then.
//
// A failure must be returned, not left to the swap's sync: Linux reports
// a failed write-back once, to the descriptors open when it failed, and
// to one opened later only if no descriptor has reported it yet. Once
// this one has, the swap's sync, on a descriptor it opens afterwards,
// succeeds, and the file is swapped in with pages the disk never took
// (the kernel marked them clean all the same).
func syncBehind(path string) (stop func() error) {
	f, err := os.Open(path)
	if err != nil {
		// Nothing flushed, nothing reported: the swap's sync opens the
		// file and reports what it finds.
		return func() error { return nil }
	}
	var failed error
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(syncBehindEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := f.Sync(); err != nil {
					failed = fmt.Errorf("sync %s: %w", path, err)
					return
				}
			case <-done:
				return
			}
		}
	}()
	return func() error {
		close(done)
		<-stopped // failed is the goroutine's until it stopped
		return errors.Join(failed, f.Close())
	}
}

// rebuildCheckpoints is the checkpoint store of a rebuild's subscription:
// it starts at the log's beginning, since the scratch files start empty,
// and saves nothing, since each lane's batches move their projectors'
// checkpoints in their own transactions (the read models' checkpointStore
// would write every projector's checkpoint into the file of the lane that
// does not run it).
type rebuildCheckpoints struct{}

func (rebuildCheckpoints) Load(context.Context, string, string) (uint64, error) { return 0, nil }

func (rebuildCheckpoints) Save(context.Context, string, string, uint64) error { return nil }

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
