package pubsub

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
)

// CheckpointStore keeps, per consumer group and topic, the position of the
// last event the group acked.
type CheckpointStore interface {
	// Load returns the checkpoint of (group, topic), 0 when none was saved.
	Load(ctx context.Context, group, topic string) (uint64, error)

	// Save records durably that group has acked topic's events up to
	// position before returning. It never moves a checkpoint backwards: a
	// smaller position than the stored one leaves it as it is (two
	// subscriptions of one group can then both run without undoing each
	// other's progress).
	Save(ctx context.Context, group, topic string, position uint64) error
}

// SQLCheckpoints is a CheckpointStore in a SQLite database, in the table
// pubsub_checkpoints.
type SQLCheckpoints struct {
	db *sql.DB

	mu sync.Mutex
	// stored is, per group and topic, a position the table is known to
	// hold already (saved here, or written by SaveTx), so that the
	// subscriber's Save after each Ack writes nothing when the handler
	// already committed the checkpoint with its changes.
	stored map[[2]string]uint64
}

// NewSQLCheckpoints creates the checkpoint table in db if it is missing and
// returns a CheckpointStore over it. db must be a SQLite database; its
// connection settings (WAL, busy timeout) stay the caller's.
func NewSQLCheckpoints(ctx context.Context, db *sql.DB) (*SQLCheckpoints, error) {
	if db == nil {
		return nil, errors.New("checkpoints: nil database")
	}
	const ddl = `CREATE TABLE IF NOT EXISTS pubsub_checkpoints (
	consumer_group TEXT NOT NULL,
	topic          TEXT NOT NULL,
	position       INTEGER NOT NULL CHECK (position >= 0),
	PRIMARY KEY (consumer_group, topic)
) WITHOUT ROWID`
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return nil, fmt.Errorf("create pubsub_checkpoints: %w", err)
	}
	return &SQLCheckpoints{db: db, stored: map[[2]string]uint64{}}, nil
}

// Load returns the checkpoint of (group, topic), 0 when none was saved.
func (c *SQLCheckpoints) Load(ctx context.Context, group, topic string) (uint64, error) {
	var pos int64
	err := c.db.QueryRowContext(ctx,
		`SELECT position FROM pubsub_checkpoints WHERE consumer_group = ? AND topic = ?`,
		group, topic).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load checkpoint %s/%s: %w", group, topic, err)
	}
	return uint64(pos), nil
}

// Save stores position as the checkpoint of (group, topic) unless the
// stored one is already further; the statement commits before Save returns.
func (c *SQLCheckpoints) Save(ctx context.Context, group, topic string, position uint64) error {
	if c.known(group, topic) >= position {
		return nil
	}
	if err := c.save(ctx, c.db, group, topic, position); err != nil {
		return err
	}
	c.remember(group, topic, position)
	return nil
}

// SaveTx writes position as the checkpoint of (group, topic) in tx, a
// transaction of the same database, so that a consumer's changes and its
// checkpoint commit together. It counts as saved at once: should tx not
// commit, the consumer did not ack either, the message comes again, and
// only a later SaveTx or Save of a higher position moves the checkpoint.
func (c *SQLCheckpoints) SaveTx(ctx context.Context, tx *sql.Tx, group, topic string, position uint64) error {
	if err := c.save(ctx, tx, group, topic, position); err != nil {
		return err
	}
	c.remember(group, topic, position)
	return nil
}

func (c *SQLCheckpoints) save(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, group, topic string, position uint64) error {
	if position > math.MaxInt64 {
		// SQLite integers are signed 64-bit; no store hands out such positions.
		return fmt.Errorf("save checkpoint %s/%s: position %d out of range", group, topic, position)
	}
	_, err := db.ExecContext(ctx,
		`INSERT INTO pubsub_checkpoints (consumer_group, topic, position) VALUES (?, ?, ?)
		 ON CONFLICT (consumer_group, topic) DO UPDATE SET position = max(position, excluded.position)`,
		group, topic, int64(position))
	if err != nil {
		return fmt.Errorf("save checkpoint %s/%s at %d: %w", group, topic, position, err)
	}
	return nil
}

func (c *SQLCheckpoints) known(group, topic string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stored[[2]string{group, topic}]
}

func (c *SQLCheckpoints) remember(group, topic string, position uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{group, topic}
	c.stored[k] = max(c.stored[k], position)
}
