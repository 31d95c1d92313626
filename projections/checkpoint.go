package projections

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/offerflow/offerflow/eventstore/pubsub"
)

// WaitFor blocks until every projector has applied the log up to position,
// or ctx ends (its error is returned). It wakes on each projector commit; it
// does not poll. Position 0 returns at once.
func (db *DB) WaitFor(ctx context.Context, position uint64) error {
	names := ProjectorNames()
	for {
		low, changed := db.marks.min(names)
		if low >= position {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for read models at position %d (at %d): %w", position, low, ctx.Err())
		}
	}
}

// Positions returns each projector's checkpoint, as last committed: the log
// position up to which its read model is complete (0 for none yet).
func (db *DB) Positions(ctx context.Context) map[string]uint64 {
	snap := db.marks.snapshot()
	out := make(map[string]uint64, len(snap))
	for _, name := range ProjectorNames() {
		out[name] = snap[name]
	}
	return out
}

// CaughtUp reports whether every projector has applied the log up to head.
func (db *DB) CaughtUp(ctx context.Context, head uint64) bool {
	low, _ := db.marks.min(ProjectorNames())
	return low >= head
}

// checkpointStore is the pubsub.CheckpointStore of ReadModelsConsumerGroup:
// the projectors' checkpoint rows, so that a subscription starts exactly
// after what every read model holds, whatever became of the read-model
// file (deleted, rebuilt, restored from a backup). The only topic is
// pubsub.TopicAll.
type checkpointStore struct{ db *DB }

var _ pubsub.CheckpointStore = checkpointStore{}

func (s checkpointStore) check(group, topic string) error {
	if group != ReadModelsConsumerGroup || topic != pubsub.TopicAll {
		return fmt.Errorf("read models: subscribed as %s to %q, want %s to %q", group, topic, ReadModelsConsumerGroup, pubsub.TopicAll)
	}
	return nil
}

// Load returns the lowest checkpoint among the projectors: every event
// after it is owed to at least one of them (those further on skip it).
func (s checkpointStore) Load(ctx context.Context, group, topic string) (uint64, error) {
	if err := s.check(group, topic); err != nil {
		return 0, err
	}
	tx, err := s.db.read.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("load checkpoints: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	cps, err := readCheckpoints(ctx, tx, ProjectorNames())
	if err != nil {
		return 0, err
	}
	return slices.Min(cps), nil
}

// Save is called after each Ack. The batch's transaction already moved
// every projector's checkpoint to position, so Save normally finds nothing
// to do; should a message ever be acked without that, it moves the
// checkpoints that trail up to position.
func (s checkpointStore) Save(ctx context.Context, group, topic string, position uint64) error {
	if err := s.check(group, topic); err != nil {
		return err
	}
	names := ProjectorNames()
	if low, _ := s.db.marks.min(names); low >= position {
		return nil
	}
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		cps, err := readCheckpoints(ctx, tx, names)
		if err != nil {
			return err
		}
		var trail []string
		var to []uint64
		for i, name := range names {
			if cps[i] < position {
				trail, to = append(trail, name), append(to, position)
			}
		}
		return writeCheckpoints(ctx, tx, trail, to)
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		s.db.marks.raise(name, position)
	}
	return nil
}
