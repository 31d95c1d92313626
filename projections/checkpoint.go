package projections

import (
	"context"
	"database/sql"
	"fmt"

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

// checkpointStore is the pubsub.CheckpointStore of the projectors' consumer
// groups: their checkpoint rows, so that a subscription starts exactly
// after what its read model holds, whatever became of the read-model file
// (deleted, rebuilt, restored from a backup). The group is the projector's
// name and the only topic is pubsub.TopicAll.
type checkpointStore struct{ db *DB }

var _ pubsub.CheckpointStore = checkpointStore{}

// Load returns the projector's checkpoint.
func (s checkpointStore) Load(ctx context.Context, group, topic string) (uint64, error) {
	if topic != pubsub.TopicAll {
		return 0, fmt.Errorf("projector %s: subscribed to %q, want %q", group, topic, pubsub.TopicAll)
	}
	tx, err := s.db.read.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("load checkpoint %s: %w", group, err)
	}
	defer func() { _ = tx.Rollback() }()
	return readCheckpoint(ctx, tx, group)
}

// Save moves the projector's checkpoint forward to position unless it is
// there already. Projectors write their checkpoint with their changes, so
// the subscriber's save after each Ack normally finds nothing to do; it is
// kept exact in case an event was acked without going through applyBatch.
func (s checkpointStore) Save(ctx context.Context, group, topic string, position uint64) error {
	if topic != pubsub.TopicAll {
		return fmt.Errorf("projector %s: subscribed to %q, want %q", group, topic, pubsub.TopicAll)
	}
	if s.db.marks.get(group) >= position {
		return nil
	}
	moved := false
	err := s.db.inTx(ctx, func(tx *sql.Tx) error {
		cp, err := readCheckpoint(ctx, tx, group)
		if err != nil || cp >= position {
			return err
		}
		moved = true
		return writeCheckpoint(ctx, tx, group, position)
	})
	if err != nil {
		return err
	}
	if moved {
		s.db.marks.store(group, position)
		s.db.marks.raise(group, position)
	}
	return nil
}
