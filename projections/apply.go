package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"golang.org/x/sync/errgroup"

	"github.com/offerflow/offerflow/domain"
	"github.com/offerflow/offerflow/eventstore"
	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// ReadModelsConsumerGroup is the pubsub consumer group through which the
// read models follow the log: one subscription feeds every projector. Its
// checkpoint is not stored under this name; it is the lowest of the
// projectors' own checkpoints (see checkpointStore).
const ReadModelsConsumerGroup = "projection.read_models"

// handleMessage is the Watermill handler of the read models, live, at
// catch-up and in a rebuild: it applies the batch of events msg carries.
func (db *DB) handleMessage(prs []*projector) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		events, err := pubsub.Events(msg)
		if err != nil {
			return err
		}
		prep, _ := pubsub.Prepared(msg).(*prepared)
		return db.applyPrepared(msg.Context(), prs, events, prep)
	}
}

// apply applies events, in log order, to every projector of prs in ONE
// transaction that also moves each projector's checkpoint to the last of
// them. Each event is decoded once for all projectors. A projector skips
// the events at or below its checkpoint, so a redelivered batch, or one
// that a second process on the same file applied first, changes nothing.
// Either the whole batch commits with the checkpoints, or nothing does: a
// crash or a failing handler mid-batch leaves the read models and the
// checkpoints as they were, and the batch comes again.
//
// A batch that fails on an event (it does not decode, or a handler returns
// an error) is applied again event by event, so that the events before the
// culprit commit and the culprit alone is tried again and, failing still,
// parked (see applySalvaging); the events after it are then applied.
func (db *DB) apply(ctx context.Context, prs []*projector, events []eventstore.Event) error {
	return db.applyPrepared(ctx, prs, events, nil)
}

// applyPrepared is apply with the batch's events already prepared for prs
// (by the subscription, see preparer); nil, or another batch's, has them
// prepared here.
func (db *DB) applyPrepared(ctx context.Context, prs []*projector, events []eventstore.Event, prep *prepared) error {
	err := db.applyWith(ctx, prs, events, applyOptions{prepared: prep})
	if err == nil || len(events) == 0 || !parkable(err) || ctx.Err() != nil {
		return err
	}
	return db.applySalvaging(ctx, prs, events)
}

// applyBatch applies events in one transaction (see apply). A failure
// caused by one event is an *eventError.
func (db *DB) applyBatch(ctx context.Context, prs []*projector, events []eventstore.Event) error {
	return db.applyWith(ctx, prs, events, applyOptions{})
}

// applyOptions bend applyBatch for RetryParked, which applies an event the
// checkpoints have already passed.
type applyOptions struct {
	// behind applies every event whatever the checkpoints say, and leaves
	// them (and the marks) where they are.
	behind bool
	// inTx, when set, runs last in the transaction, so that its writes
	// commit with the events' or not at all.
	inTx func(ctx context.Context, tx *sql.Tx) error
	// prepared, when it was prepared from the events, spares preparing
	// them again.
	prepared *prepared
}

// applyWith is applyBatch as opts bend it.
func (db *DB) applyWith(ctx context.Context, prs []*projector, events []eventstore.Event, opts applyOptions) error {
	if len(events) == 0 {
		return nil
	}
	prep := opts.prepared
	if !prep.of(events) {
		prep = prepare(prs, events)
	}
	envs := prep.envs
	reached := make([]uint64, len(prs))
	names := make([]string, len(prs))
	for k, p := range prs {
		names[k] = p.name
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// The transaction ends with ctx (database/sql rolls it back and
		// refuses further statements); its statements run without a
		// cancellable context, since the driver starts a goroutine per
		// statement to watch one, which cost a rebuild a tenth of its time.
		ctx := context.WithoutCancel(ctx)
		cache := newBatchCache(tx, &db.folds, db.written)
		btx := &batchTx{tx: tx, batch: cache}
		// Every projector's checkpoint is read by one statement, and
		// those the batch moves are written by one more: a statement
		// apiece was a sixth of a one-event batch's CPU (issue 7).
		cps, err := readCheckpoints(ctx, tx, names)
		if err != nil {
			return err
		}
		var moved []string
		var movedTo []uint64
		for k, p := range prs {
			cp := cps[k]
			if err := prep.wait(0); err != nil {
				return err
			}
			if opts.behind {
				cp = envs[0].Position - 1
			}
			last := cp
			for i := range envs {
				if err := prep.wait(i); err != nil {
					return err
				}
				env := &envs[i]
				if env.Position <= last {
					continue
				}
				if p.types[env.Type] {
					ch := &change{tx: btx, env: env, batch: cache}
					if p.envelopes {
						ch.envelope = prep.envelopes[i]
					}
					cctx := context.WithValue(ctx, changeKey{}, ch)
					err := p.dispatchGuarded(cctx, env.Type, prep.decoded[i])
					if err == nil {
						err, cache.err = cache.err, nil
					}
					if err != nil {
						return &eventError{position: env.Position, err: fmt.Errorf("%s: apply %s at position %d: %w", p.name, env.Type, env.Position, err)}
					}
				}
				last = env.Position
			}
			reached[k] = last
			if last > cp && !opts.behind {
				moved, movedTo = append(moved, p.name), append(movedTo, last)
			}
		}
		if err := writeCheckpoints(ctx, tx, moved, movedTo); err != nil {
			return err
		}
		// What the batch kept in memory is written now, in the same
		// transaction as the checkpoints. A failure here (a count that
		// would go below zero, say) is some event's fault; applied one by
		// one, the batch finds which.
		if err := cache.flush(ctx); err != nil {
			return &eventError{position: envs[len(envs)-1].Position, err: fmt.Errorf("write the batch's rows: %w", err)}
		}
		if opts.inTx != nil {
			return opts.inTx(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return cancelled(ctx, err)
	}
	if opts.behind {
		return nil
	}
	for k, p := range prs {
		db.marks.raise(p.name, reached[k])
	}
	for i := range events {
		if events[i].Type == domain.TypeCustomerErased {
			db.wipeWAL(ctx)
			break
		}
	}
	return nil
}

// cancelled returns ctx's error in place of err when err is only what a
// cancelled batch fails with: database/sql rolls the transaction back when
// ctx ends, so the statements after that (which run without ctx, see
// applyWith) fail with sql.ErrTxDone. Shutdown cancels the batch in
// flight; nothing of it was written, it comes again on the next run, and
// the router does not log context.Canceled, so a stop no longer logs
// "transaction has already been committed or rolled back" as an error.
// Any other failure is returned as it is, cancelled or not.
func cancelled(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil || !(errors.Is(err, sql.ErrTxDone) || errors.Is(err, cerr)) {
		return err
	}
	return fmt.Errorf("batch not applied: %w", cerr)
}

// dispatchGuarded is dispatch with a handler's panic turned into its error,
// so that an event that makes a handler panic is parked like one that
// makes it fail; the batch's transaction rolls back either way.
func (p *projector) dispatchGuarded(ctx context.Context, typ string, e domain.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return p.dispatch(ctx, typ, e)
}

// lane is a group of projectors and the read-model file they apply to.
// Catch-up runs one; a rebuild runs two side by side (see rebuildLanes).
type lane struct {
	db  *DB
	prs []*projector
}

// reached returns the position every projector of l has applied.
func (l lane) reached() uint64 {
	names := make([]string, len(l.prs))
	for i, p := range l.prs {
		names[i] = p.name
	}
	low, _ := l.db.marks.min(names)
	return low
}

// drain follows the log through a subscription of sub until every lane's
// read models reach head, applying every batch as the live handler does,
// to all lanes at once, each in its own transaction; a batch is acked
// once every lane committed it. progress, when not nil, is called after
// each batch with the position all lanes reached. It is catch-up and
// rebuild. It returns the number of events delivered.
func drain(ctx context.Context, sub *pubsub.Subscriber, lanes []lane, head uint64, progress func(applied, total uint64)) (uint64, error) {
	low := func() uint64 {
		out := head
		for _, l := range lanes {
			out = min(out, l.reached())
		}
		return out
	}
	if low() >= head {
		return 0, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, err := sub.Subscribe(ctx, pubsub.TopicAll)
	if err != nil {
		return 0, err
	}
	var n uint64
	for msg := range msgs {
		events, err := pubsub.Events(msg)
		if err == nil {
			prep, _ := pubsub.Prepared(msg).(*prepared)
			err = applyLanes(msg.Context(), lanes, events, prep)
		}
		if err != nil {
			msg.Nack()
			return n, err
		}
		msg.Ack()
		n += uint64(len(events))
		reached := low()
		if progress != nil {
			progress(reached, head)
		}
		if reached >= head {
			return n, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return n, err
	}
	return n, fmt.Errorf("log subscription ended at position %d of %d", low(), head)
}

// applyLanes applies events to every lane, the lanes side by side, each
// in its own transaction (see apply). prep is shared: applying only reads
// it.
func applyLanes(ctx context.Context, lanes []lane, events []eventstore.Event, prep *prepared) error {
	if len(lanes) == 1 {
		return lanes[0].db.applyPrepared(ctx, lanes[0].prs, events, prep)
	}
	var g errgroup.Group
	for _, l := range lanes {
		g.Go(func() error { return l.db.applyPrepared(ctx, l.prs, events, prep) })
	}
	return g.Wait()
}
