package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
)

// RebuildBatchSize is how many events Rebuild applies per transaction.
const RebuildBatchSize = 1000

// RebuildResult tells what a rebuild did.
type RebuildResult struct {
	// Events is the number of log events replayed into the read models.
	Events uint64
	// Head is the log position the read models were rebuilt up to.
	Head uint64
	// Duration is the time the rebuild took, dropping included.
	Duration time.Duration
}

// Rate returns the events replayed per second.
func (r RebuildResult) Rate() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Events) / r.Duration.Seconds()
}

// Rebuild drops every read-model table of db and the projectors'
// checkpoints (tables that others keep in the same file stay), recreates the
// schema, and replays the log from its start up
// to its head at the time of the call through the projectors' own handlers,
// RebuildBatchSize events per transaction. Events appended meanwhile are left
// to the live projection, which resumes after the rebuilt checkpoints.
//
// Nothing else may use db meanwhile: run it with the server stopped.
// progress, when not nil, is called after each batch with the log position
// reached and the head: on the SQLite store positions count events, so these
// are events applied and events in all; on EventStoreDB they only grow in
// proportion.
func Rebuild(ctx context.Context, store eventstore.Store, db *DB, progress func(applied, total uint64)) (RebuildResult, error) {
	start := time.Now()
	head, err := store.Head(ctx)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild: %w", err)
	}
	if err := db.drop(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild: drop read models: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild: %w", err)
	}
	if err := db.loadMarks(ctx); err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild: %w", err)
	}
	prs, err := projectors()
	if err != nil {
		return RebuildResult{}, err
	}
	if progress != nil {
		progress(0, head)
	}
	n, err := replay(ctx, store, db, prs, head, RebuildBatchSize, progress)
	if err != nil {
		return RebuildResult{}, fmt.Errorf("rebuild: %w", err)
	}
	return RebuildResult{Events: n, Head: head, Duration: time.Since(start)}, nil
}

// replay applies the log up to head to each of prs from its checkpoint, in
// transactions of batch events, decoding each event once for all of them.
// It returns how many log events it read.
func replay(ctx context.Context, store eventstore.Store, db *DB, prs []*projector, head uint64, batch int, progress func(applied, total uint64)) (uint64, error) {
	if batch <= 0 {
		batch = RebuildBatchSize
	}
	names := make([]string, len(prs))
	for i, p := range prs {
		names[i] = p.name
	}
	from, _ := db.marks.min(names)
	var n uint64
	for from < head {
		events, err := store.ReadAll(ctx, from, batch)
		if err != nil {
			return n, fmt.Errorf("read log after %d: %w", from, err)
		}
		for len(events) > 0 && events[len(events)-1].Position > head {
			events = events[:len(events)-1]
		}
		if len(events) == 0 {
			break
		}
		decoded, err := decodeFor(prs, events)
		if err != nil {
			return n, err
		}
		for _, p := range prs {
			if err := db.applyEvents(ctx, p, events, decoded); err != nil {
				return n, err
			}
		}
		n += uint64(len(events))
		from = events[len(events)-1].Position
		if progress != nil {
			progress(from, head)
		}
	}
	return n, nil
}

// decodeFor decodes the events that some projector of prs handles; the
// others stay nil.
func decodeFor(prs []*projector, events []eventstore.Event) ([]domain.Event, error) {
	out := make([]domain.Event, len(events))
	for i, e := range events {
		wanted := false
		for _, p := range prs {
			wanted = wanted || p.types[e.Type]
		}
		if !wanted {
			continue
		}
		de, err := domain.DecodeEvent(e.Type, e.Data)
		if err != nil {
			return nil, fmt.Errorf("event at position %d: %w", e.Position, err)
		}
		out[i] = de
	}
	return out, nil
}
